#pragma once
// Per-request outcomes of a load run: latencies and errors by kind, reduced to the summary
// send_dummy prints. Not thread-safe: each worker keeps its own and they are merged at the end.

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace sqlrep::send_dummy {

class LatencyStats {
  public:
    void record_ok(double latency_ms);
    // `kind` groups errors in the summary: "HTTP 503", "timeout", "unreachable", ...
    // `message` is kept for the first error of each kind as an example.
    void record_error(double latency_ms, const std::string& kind, const std::string& message);
    void merge(const LatencyStats& other);

    int64_t requests() const { return static_cast<int64_t>(latencies_ms_.size()); }
    int64_t errors() const { return errors_; }

    // The latency below which `fraction` (0..1) of requests fall, nearest-rank; 0 if none.
    // Sorts the samples, hence not const.
    double percentile(double fraction);

    // The summary block: requests, errors by kind, throughput over `elapsed_s`, p50/95/99.
    void print_summary(std::ostream& out, double elapsed_s);

  private:
    struct ErrorKindCount {
        int64_t count = 0;
        std::string example;
    };

    std::vector<double> latencies_ms_;  // every request, failed ones included
    bool sorted_ = true;
    int64_t errors_ = 0;
    std::map<std::string, ErrorKindCount> errors_by_kind_;
};

}  // namespace sqlrep::send_dummy
