#pragma once
// Latency samples of one measurement, reduced to percentiles. Not thread-safe: each load
// worker fills its own and they are merged when the workers are done.

#include <cstdint>
#include <vector>

namespace sqlrep::bench {

class LatencyStats {
  public:
    void record(double ms) {
        samples_ms_.push_back(static_cast<float>(ms));
        sorted_ = false;
    }
    void merge(const LatencyStats& other);
    int64_t count() const { return static_cast<int64_t>(samples_ms_.size()); }
    // Nearest-rank percentile, `fraction` in 0..1; 0 when empty. Sorts, hence not const.
    double percentile(double fraction);
    void reserve(std::size_t n) { samples_ms_.reserve(n); }

  private:
    std::vector<float> samples_ms_;
    bool sorted_ = true;
};

// p50/p95/p99/max of a LatencyStats, for reports.
struct Percentiles {
    double p50 = 0, p95 = 0, p99 = 0, max = 0;
    static Percentiles of(LatencyStats& stats);
};

}  // namespace sqlrep::bench
