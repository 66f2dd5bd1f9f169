#pragma once
// The two replication figures of a run.
//
// LagProbe: while a write load runs, one thread per replica repeatedly writes one row to
// the master with ack=master, takes the time of the master's 200 and the entry's index,
// then sends the replica a read with "min_index" set to that index; the replica answers
// once it has applied the entry. Lag is the time from the master's 200 to the replica's
// answer: an upper bound on the true lag (it includes one read round trip, reported
// alongside as the probe's read RTT, measured on a plain read just before). One probe
// every 10 ms per replica.
//
// measure_catch_up: SIGSTOP one replica, write `entries` entries through the master,
// SIGCONT it and time how long its /status applied_index takes to reach the master's.
//
// Thread contract: LagProbe's start/stop from one thread; it runs threads of its own.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "latency_stats.hpp"
#include "shared/http_client.hpp"

namespace sqlrep::bench {

class LagProbe {
  public:
    LagProbe(std::string master_url, std::vector<std::string> replica_urls,
             ClientOptions client = {});
    ~LagProbe();  // stop()
    LagProbe(const LagProbe&) = delete;
    LagProbe& operator=(const LagProbe&) = delete;

    void start();
    // Stops the probe threads and folds their samples into lag() and read_rtt().
    void stop();

    LatencyStats& lag() { return lag_; }
    LatencyStats& read_rtt() { return read_rtt_; }
    int64_t failures() const { return failures_; }
    // What the first failed probe saw ("" when none failed).
    const std::string& first_failure() const { return first_failure_; }

  private:
    struct Sampler {
        LatencyStats lag;
        LatencyStats read_rtt;
        int64_t failures = 0;
        std::string first_failure;
    };
    void probe(const std::string& replica_url, Sampler& sampler, int id);

    std::string master_url_;
    std::vector<std::string> replica_urls_;
    ClientOptions client_;
    std::atomic<bool> stopping_{false};
    std::vector<std::unique_ptr<Sampler>> samplers_;
    std::vector<std::thread> threads_;
    LatencyStats lag_;
    LatencyStats read_rtt_;
    int64_t failures_ = 0;
    std::string first_failure_;
};

struct CatchUpResult {
    int64_t entries = 0;       // entries the replica had to apply after SIGCONT
    double write_seconds = 0;  // to write them through the master
    double seconds = 0;        // from SIGCONT until its applied index reached the master's
    bool completed = false;    // false: the wait timed out
    double entries_per_second() const { return seconds > 0 ? entries / seconds : 0; }
};

// Throws Interrupted on SIGINT; `replica` is resumed whatever happens.
CatchUpResult measure_catch_up(const std::string& master_url, const std::string& replica_url,
                               ChildProcess& replica, int64_t entries, int concurrency,
                               int64_t keyspace);

}  // namespace sqlrep::bench
