// When a replica is ready for traffic (GET /ready): following, and at most --ready-max-lag
// entries behind the master. The integration tests cover the states on real processes;
// a lag is hard to hold steady there, so its bound is checked here.

#include <catch2/catch.hpp>

#include "replica/replica_role.hpp"

using sqlrep::replica::readiness_problem;

TEST_CASE("a replica is ready only while following and close behind", "[replica]") {
    CHECK(readiness_problem("following", "", 100, 100, 1000).empty());
    CHECK(readiness_problem("following", "", 0, 1000, 1000).empty());
    CHECK(readiness_problem("following", "", 0, 0, 0).empty());

    std::string behind = readiness_problem("following", "", 0, 1001, 1000);
    CHECK(behind == "1001 entries behind the master (--ready-max-lag 1000)");
    CHECK(readiness_problem("following", "", 99, 100, 0) ==
          "1 entries behind the master (--ready-max-lag 0)");

    CHECK(readiness_problem("connecting", "", 100, 100, 1000) == "the replica is connecting");
    CHECK(readiness_problem("connecting", "cannot stream from the master: refused", 5, 5, 10) ==
          "the replica is connecting: cannot stream from the master: refused");
    CHECK(readiness_problem("diverged", "entry 7 changed 0 row(s) here", 6, 9, 1000) ==
          "the replica is diverged: entry 7 changed 0 row(s) here");
}
