#pragma once
// The failover measurement (issue 17): under a write load through every live node,
// SIGKILL the leader `rounds` times and time how long until a write succeeds again; at the
// end, count the acknowledged writes the cluster no longer has.
//
// Each round: wait until the cluster is healthy, load for kLoadBefore, SIGKILL the leader,
// wait for the first acknowledged write *sent* after the kill (through any live node), load
// for kLoadAfter more, restart the killed node with its command line and wait until it
// follows. Load: kClients threads, each writing unique keys (`<prefix><thread>-<seq>`) round
// robin through every node but the killed one, with a keep-alive connection per node
// (plain_http_connection.hpp), pausing kFailurePause after a failed write. Every
// acknowledged key is remembered; after the last round the keys missing from the leader
// are the acknowledged writes lost.
//
// Blocks for the whole measurement, printing progress on stderr. Throws std::runtime_error
// when the cluster does not recover (no write within kRecoveryTimeout, not healthy within
// kHealthyTimeout), Interrupted on SIGINT; the load threads are joined on every path.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "failover_target.hpp"
#include "latency_stats.hpp"

namespace sqlrep::bench {

inline constexpr int kClients = 4;
inline constexpr std::chrono::milliseconds kLoadBefore{2000};
inline constexpr std::chrono::milliseconds kLoadAfter{2000};
inline constexpr std::chrono::milliseconds kFailurePause{10};
// Long enough for a write that waits out the election (dqlite-demo holds PUTs ~5-6 s): a
// client that gave up at 5 s and sent again measured dqlite later and less steadily.
inline constexpr std::chrono::milliseconds kRequestTimeout{15000};
inline constexpr std::chrono::milliseconds kRecoveryTimeout{60000};
inline constexpr std::chrono::milliseconds kHealthyTimeout{60000};

struct FailoverRound {
    int killed = -1;            // the leader's node number when it was killed
    int next_leader = -1;       // the leader after the killed node had rejoined
    double first_write_ms = 0;  // SIGKILL to the first acknowledged write sent after it
    int64_t acked = 0;          // writes acknowledged during the round
    int64_t failed = 0;         // writes that failed during the round
    std::string first_failure;  // an example failure after the kill
};

struct FailoverResult {
    std::string system;
    std::vector<FailoverRound> rounds;
    LatencyStats first_write_ms;  // one sample per round
    int64_t acked = 0;            // acknowledged writes over all rounds
    int64_t lost = 0;             // acknowledged keys the final leader does not have
    std::string first_lost;       // one of them, for the report
};

FailoverResult measure_failover(FailoverTarget& target, int rounds);

}  // namespace sqlrep::bench
