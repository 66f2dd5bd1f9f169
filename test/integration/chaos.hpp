#pragma once
// The chaos driver: concurrent writers through every node of a Cluster while faults hit
// the master and the replicas at random, then a check that no acknowledged write is lost.
// Shared by the chaos test (integration_tests, under ctest) and the `chaos_soak` binary.
//
// - Writers: `writers_per_node` threads per node, each inserting rows with a unique
//   (writer, seq) and a random value into table `chaos` with ack=quorum; a write counts as
//   acknowledged only when answered 200 {"ok":true}. 503/504 and transport errors are
//   expected while a node is down or paused; any other answer is recorded as unexpected.
// - Faults (seeded, one at a time so a quorum exists most of the time): SIGKILL and
//   restart, SIGSTOP and SIGCONT, SIGTERM (must exit 0) and restart, and for replicas a
//   wipe (SIGKILL, delete its files, restart: it must come back through a snapshot).
// - verify(): every node running and resumed, converged, every acknowledged write present
//   with its value on every node, every replica following.
//
// Thread contract: a ChaosDriver is driven from the thread that owns the Cluster (faults
// run on it); the writers are its own threads, stopped before run() returns, also when it
// throws. No Catch macros here: callers check the report.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "acked_writer.hpp"
#include "cluster.hpp"

namespace sqlrep::test {

struct ChaosOptions {
    uint64_t seed = 0;  // 0: a fresh one from std::random_device (printed either way)
    int writers_per_node = 2;
    bool wipe_replicas = true;                  // include the wipe fault
    std::chrono::milliseconds max_pause{6000};  // SIGSTOP length is 300 ms .. this
    std::chrono::milliseconds max_down{1000};   // gap between SIGKILL and restart
    std::chrono::milliseconds converge_timeout{120000};
    std::function<void(const std::string&)> log;  // progress lines; default: stdout
};

struct ChaosReport {
    uint64_t seed = 0;
    std::map<std::string, int64_t> faults;          // kind -> count ("kill", "pause", ...)
    std::map<std::string, int64_t> faults_by_node;  // node name -> count
    int64_t attempted = 0;
    int64_t acked = 0;
    std::map<std::string, int64_t> outcomes;  // "200", "503", "504", "transport", "http 500"...
    int64_t unexpected = 0;                   // answers other than 200/503/504/transport
    std::vector<std::string> unexpected_samples;
    std::vector<std::string> problems;  // SIGTERM exits that were not 0, diverged replicas
    // Filled by verify():
    int64_t lost = 0;                                // acked writes missing on some node
    std::map<std::string, int64_t> missing_by_node;  // node name -> acked writes missing
    int64_t wrong_values = 0;                        // acked rows holding another value
    std::vector<std::string> lost_samples;
    int64_t rows_on_master = 0;

    // "chaos seed=... faults: kill=3 pause=4 ... writes attempted=... acked=... lost=0"
    std::string summary() const;
};

class ChaosDriver {
  public:
    ChaosDriver(Cluster& cluster, ChaosOptions options);
    ~ChaosDriver();
    ChaosDriver(const ChaosDriver&) = delete;
    ChaosDriver& operator=(const ChaosDriver&) = delete;

    // Creates the `chaos` table (through the master) and waits until every node has it.
    void setup();
    // Runs writers and faults for `duration`; on return (or throw) the writers are stopped
    // and no fault is in progress. May be called again (a soak runs rounds).
    void run(std::chrono::milliseconds duration);
    // Brings every node up, waits for convergence, checks every acknowledged write on every
    // node and every replica's state. Fills the report's lost/missing fields. Throws when
    // the cluster does not converge in time.
    void verify();

    const ChaosReport& report() const { return report_; }

  private:
    void inject_fault();
    void say(const std::string& line);
    std::chrono::milliseconds uniform_ms(int64_t lo, int64_t hi);

    Cluster& cluster_;
    ChaosOptions options_;
    ChaosReport report_;
    std::mt19937_64 rng_;
    int round_ = 0;
    std::map<std::string, std::vector<AckedRow>> acked_;  // writer name -> its acked writes
    Clock::time_point started_;
};

}  // namespace sqlrep::test
