// chaos_soak: the chaos test for as long as you like, run by hand.
//
//   chaos_soak --duration 3600 [--seed N] [--writers 2] [--round 120] [--log-retain 200]
//
// Starts a master and two replicas (binaries from SQLREP_TEST_BIN_DIR or the build tree),
// then runs rounds of writers and random faults; after each round it brings every node
// up, waits for convergence, and checks that no acknowledged write is lost and that every
// node's checksums are equal. Exits non-zero on the first round that finds a problem.
// Catch2 runs the one case so the harness's checks and log dumps work as in ctest; Catch's
// own flags (e.g. -s, --durations yes) are accepted too.

#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include "chaos.hpp"
#include "cluster.hpp"

namespace {

struct SoakFlags {
    int duration_s = 600;
    uint64_t seed = 0;
    int writers = 2;
    int round_s = 120;
    int log_retain = 200;
};

SoakFlags g_flags;

}  // namespace

TEST_CASE("chaos soak: no acknowledged write is lost over a long run of random faults",
          "[integration][chaos][soak]") {
    using namespace sqlrep::test;
    const std::string retain = std::to_string(g_flags.log_retain);
    ClusterOptions options;
    options.master_args = {"--log-retain", retain};
    options.replica_args = {"--log-retain", retain};
    Cluster c(options);

    ChaosOptions chaos;
    chaos.seed = g_flags.seed;
    chaos.writers_per_node = g_flags.writers;
    ChaosDriver driver(c, chaos);
    driver.setup();

    const auto end = Clock::now() + std::chrono::seconds(g_flags.duration_s);
    int round = 0;
    while (Clock::now() < end) {
        ++round;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        auto length =
            std::min<std::chrono::milliseconds>(left, std::chrono::seconds(g_flags.round_s));
        driver.run(std::max<std::chrono::milliseconds>(length, std::chrono::milliseconds(1000)));
        driver.verify();

        const ChaosReport& r = driver.report();
        std::string details = "after round " + std::to_string(round) + ": " + r.summary();
        for (const auto& s : r.lost_samples) details += "\n  lost: " + s;
        for (const auto& s : r.unexpected_samples) details += "\n  unexpected answer: " + s;
        for (const auto& p : r.problems) details += "\n  problem: " + p;
        INFO(details);
        REQUIRE(r.lost == 0);
        REQUIRE(r.wrong_values == 0);
        REQUIRE(r.unexpected == 0);
        REQUIRE(r.problems.empty());
        c.check_identical("SELECT count(*), max(id) FROM chaos");
        c.check_same_checksums();
    }
    std::cout << "chaos soak finished after " << round << " rounds: " << driver.report().summary()
              << "\n"
              << std::flush;
    CHECK(driver.report().acked > 0);
}

int main(int argc, char* argv[]) {
    Catch::Session session;
    using Catch::clara::Opt;
    auto cli =
        session.cli() |
        Opt(g_flags.duration_s, "seconds")["--duration"]("how long to run faults (600)") |
        Opt(g_flags.seed, "seed")["--seed"]("replay a seed (default: random, printed)") |
        Opt(g_flags.writers, "n")["--writers"]("writer threads per node (2)") |
        Opt(g_flags.round_s, "seconds")["--round"]("seconds between full checks (120)") |
        Opt(g_flags.log_retain, "entries")["--log-retain"]("--log-retain of every node (200)");
    session.cli(cli);
    int rc = session.applyCommandLine(argc, argv);
    if (rc != 0) return rc;
    return session.run();
}
