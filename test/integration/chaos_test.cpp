// Chaos: writers through every node while the master and the replicas are killed,
// paused, terminated and wiped at random. No acknowledged write may be lost, and every
// node must end identical. The driver lives in chaos.cpp (shared with `chaos_soak`).
//
// SQLREP_CHAOS_SEED replays a given seed; SQLREP_CHAOS_SECONDS changes the fault phase.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "chaos.hpp"
#include "cluster.hpp"

namespace {

using namespace sqlrep::test;

uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    return std::strtoull(v, nullptr, 10);
}

}  // namespace

TEST_CASE(
    "concurrent quorum writes through every node survive random kills, pauses, SIGTERMs and "
    "wipes without losing an acknowledged write",
    "[integration][chaos][slow]") {
    ClusterOptions options;
    // A short retention so trimming runs during the test and wiped replicas need snapshots.
    options.master_args = {"--log-retain", "200"};
    options.replica_args = {"--log-retain", "200"};
    Cluster c(options);

    ChaosOptions chaos;
    chaos.seed = env_u64("SQLREP_CHAOS_SEED", 0);
    chaos.writers_per_node = 2;
    ChaosDriver driver(c, chaos);
    driver.setup();
    driver.run(std::chrono::seconds(env_u64("SQLREP_CHAOS_SECONDS", 30)));
    driver.verify();

    const ChaosReport& r = driver.report();
    std::cout << r.summary() << "\n" << std::flush;
    std::string details = r.summary();
    for (const auto& s : r.lost_samples) details += "\n  lost: " + s;
    for (const auto& s : r.unexpected_samples) details += "\n  unexpected answer: " + s;
    for (const auto& p : r.problems) details += "\n  problem: " + p;
    INFO(details);
    CHECK(r.acked > 0);
    CHECK(r.lost == 0);
    CHECK(r.wrong_values == 0);
    CHECK(r.unexpected == 0);
    CHECK(r.problems.empty());
    int64_t faults = 0;
    for (const auto& [kind, n] : r.faults) faults += n;
    CHECK(faults > 0);
    c.check_identical("SELECT count(*), max(id) FROM chaos");
    c.check_same_checksums();
}
