#pragma once
// GET /metrics: a node's figures in the Prometheus text format (version 0.0.4). They are
// the fields of its /status (one source of truth: the two cannot disagree), whether it
// is ready, the requests in flight, how many answers of each HTTP status it sent, and how
// many SQL requests (POST /, and rqlite's which become them) it received, by command.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "shared/json.hpp"

namespace sqlrep {

// Answers sent, by HTTP status code. record() is lock-free, from any thread.
class ResponseCounter {
  public:
    void record(unsigned status);
    uint64_t count(unsigned status) const;

    static constexpr unsigned kMinStatus = 100;
    static constexpr unsigned kMaxStatus = 599;

  private:
    std::array<std::atomic<uint64_t>, kMaxStatus - kMinStatus + 1> counts_{};
};

// SQL requests received, by command (query: reads; exec: writes). Lock-free, any thread.
struct CommandCounter {
    std::atomic<uint64_t> queries{0};
    std::atomic<uint64_t> execs{0};
};

// The exposition text. `status` is the node's /status object (either role's fields);
// `not_ready` is why it is not ready, or "" when it is.
std::string metrics_text(const json::object& status, const std::string& not_ready,
                         std::size_t in_flight, const ResponseCounter& responses,
                         const CommandCounter* commands = nullptr);

// The Content-Type of that text.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace sqlrep
