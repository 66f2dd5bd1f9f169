// A real rqlite client library, unmodified, against sqlrep: rqlite-js (npm, the version
// pinned in test/rqlite_client/package-lock.json) runs its README's basic flows
// (test/rqlite_client/basic_flows.js) through the master and a replica of a cluster with
// --auth, authenticating with HTTP Basic credentials. The library is installed with
// `npm ci` into the build tree once; without node, npm or a reachable registry the test
// fails and says so.

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace fs = std::filesystem;

}  // namespace

TEST_CASE("the rqlite-js client library runs its basic flows against sqlrep nodes",
          "[integration][rqlite]") {
    const fs::path work = SQLREP_RQLITE_CLIENT_WORK;
    install_npm_package(SQLREP_RQLITE_CLIENT_SRC, work,
                        {"package.json", "package-lock.json", "basic_flows.js"}, "rqlite-js");

    const std::string token = "rqlite-js-" + random_hex(24);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = "[{\"token\": \"" + token + "\", \"role\": \"admin\"}]";
    options.client_token = token;
    Cluster c(options);
    CommandRun run = run_command("node '" + (work / "basic_flows.js").string() + "' " +
                                 c.master().url() + " " + c.replica(1).url() + " " + token);
    INFO(run.output);
    CHECK(run.exit_code == 0);
    c.wait_converged();
    c.check_same_checksums();
}
