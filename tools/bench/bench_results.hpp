#pragma once
// Everything one bench run measured, filled by the runner and printed by the report.
// A figure that was not measured (no dqlite, --nodes, a phase skipped) stays empty.

#include <optional>
#include <string>
#include <vector>

#include "failover.hpp"
#include "latency_stats.hpp"
#include "load_generator.hpp"
#include "replication_probe.hpp"

namespace sqlrep::bench {

struct RssSample {
    std::string after;  // the phase it was taken after
    long rss_kib = -1;
};

struct BenchResults {
    // Summed over all rounds (ops and seconds), latencies pooled.
    LoadResult sqlrep_writes;                      // ack = options.ack, through the master
    LoadResult sqlrep_reads;                       // point reads on replica 1
    LoadResult sqlrep_ack_master_writes;           // same cluster, ack=master
    std::optional<LoadResult> master_only_writes;  // `master 0`
    std::optional<LoadResult> dqlite_writes;       // PUT on the leader
    std::optional<LoadResult> dqlite_reads;        // GET on a follower
    std::string dqlite_version;

    std::optional<LoadResult> lag_phase_writes;  // the write load the lag was sampled under
    LatencyStats lag;                            // ms, see LagProbe
    LatencyStats lag_read_rtt;                   // ms
    int64_t lag_failures = 0;
    std::string lag_first_failure;

    std::optional<CatchUpResult> catch_up;

    long master_peak_rss_kib = -1;      // VmHWM at the end; -1 with --nodes
    std::vector<RssSample> master_rss;  // VmRSS after each phase

    // --failover N: nothing above is measured, only these.
    std::optional<FailoverResult> sqlrep_failover;
    std::optional<FailoverResult> dqlite_failover;  // with --compare dqlite
};

}  // namespace sqlrep::bench
