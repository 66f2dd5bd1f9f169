// show_all and send_dummy against a real cluster: the verdicts and exit statuses an
// operator relies on (0 in sync, 2 diverged, 3 unreachable), --json, and send_dummy's
// sample requests and load summary.

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <sqlite3.h>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace sqlrep::test;
namespace json = boost::json;

namespace {

// Runs a tool from the build's bin dir and collects its stdout.
CommandRun run_tool(const std::string& tool, const std::string& args) {
    return run_command(binary_path(tool) + " " + args, /*with_stderr=*/false);
}

std::string node_list(Cluster& cluster) {
    std::string list;
    for (Node* node : cluster.nodes()) list += (list.empty() ? "" : ",") + node->url();
    return list;
}

void tamper(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
    INFO(message);
}

}  // namespace

TEST_CASE("show_all reports a cluster in sync with exit 0 and the verdict line",
          "[integration][tools]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    cluster.exec_ok(cluster.replica(1), "INSERT INTO fruit (name) VALUES ('apple'), ('pear')");
    int64_t index = cluster.master_index();

    CommandRun run = run_tool("show_all", "--nodes " + node_list(cluster));
    INFO(run.output);
    CHECK(run.exit_code == 0);
    CHECK(run.output.find("IN SYNC at index " + std::to_string(index)) != std::string::npos);
    CHECK(run.output.find("apple") != std::string::npos);
    CHECK(run.output.find("_sqlrep_") == std::string::npos);

    CommandRun as_json = run_tool("show_all", "--json --nodes " + node_list(cluster));
    INFO(as_json.output);
    CHECK(as_json.exit_code == 0);
    boost::system::error_code ec;
    json::value parsed = json::parse(as_json.output, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(parsed.is_object());
    CHECK(parsed.as_object().at("nodes").as_array().size() == 3);
}

TEST_CASE("show_all names the table that differs on a replica changed behind sqlrep's back",
          "[integration][tools]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    cluster.exec_ok(cluster.master(), "INSERT INTO fruit (name) VALUES ('apple'), ('pear')");
    cluster.wait_converged();

    cluster.replica(2).terminate();
    tamper(cluster.database_path(2), "UPDATE fruit SET name = 'plum' WHERE id = 1");
    cluster.replica(2).start();
    cluster.replica(2).wait_ready();

    CommandRun run = run_tool("show_all", "--wait 5 --nodes " + node_list(cluster));
    INFO(run.output);
    CHECK(run.exit_code == 2);
    CHECK(run.output.find("DIVERGED: fruit differs on " + cluster.replica(2).url()) !=
          std::string::npos);
}

TEST_CASE("show_all reports a stopped node as unreachable with exit 3", "[integration][tools]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    std::string nodes = node_list(cluster);
    cluster.replica(1).kill();

    CommandRun run = run_tool("show_all", "--wait 2 --nodes " + nodes);
    INFO(run.output);
    CHECK(run.exit_code == 3);
    CHECK(run.output.find("UNREACHABLE: " + cluster.replica(1).url()) != std::string::npos);
}

TEST_CASE("send_dummy sends the sample requests and a row load that reaches every node",
          "[integration][tools]") {
    Cluster cluster;
    CommandRun sample = run_tool("send_dummy", "--node " + cluster.master().url());
    INFO(sample.output);
    CHECK(sample.exit_code == 0);
    CHECK(sample.output.find("alice") != std::string::npos);

    // Through a replica: the tool creates its table on the master, then loads rows.
    CommandRun load = run_tool("send_dummy", "--node " + cluster.replica(1).url() +
                                                 " --rows 300 --concurrency 4 --ack all");
    INFO(load.output);
    CHECK(load.exit_code == 0);
    CHECK(load.output.find("300 ok") != std::string::npos);
    cluster.wait_converged();
    json::array counts = cluster.check_identical("SELECT count(*) FROM dummy");
    CHECK(counts.at(0).as_array().at(0).as_int64() == 300);
    cluster.check_same_checksums();
}

TEST_CASE("show_all and send_dummy pass --token to nodes started with --auth",
          "[integration][tools][security]") {
    const std::string admin = "tools-admin-" + random_hex(16);
    const std::string reader = "tools-reader-" + random_hex(16);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = json::serialize(json::array{json::object{{"token", admin}, {"role", "admin"}},
                                               json::object{{"token", reader}, {"role", "read"}}});
    options.client_token = admin;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE tokened (v INTEGER)");

    // Without a token every node answers 401: show_all cannot read them.
    CHECK(run_tool("show_all", "--nodes " + node_list(c) + " --wait 5").exit_code == 3);
    // A read token is enough to compare the nodes.
    CommandRun shown =
        run_tool("show_all", "--nodes " + node_list(c) + " --wait 20 --token " + reader);
    INFO(shown.output);
    CHECK(shown.exit_code == 0);
    CHECK(shown.output.find("IN SYNC") != std::string::npos);

    // send_dummy writes with a token that may, through the replica, and fails with one that may
    // not.
    CHECK(run_tool("send_dummy", "--node " + c.replica(1).url() +
                                     " --exec 'INSERT INTO tokened VALUES (1)' --token " + admin)
              .exit_code == 0);
    CHECK(run_tool("send_dummy", "--node " + c.replica(1).url() +
                                     " --exec 'INSERT INTO tokened VALUES (2)' --token " + reader)
              .exit_code != 0);
    CHECK(run_tool("send_dummy",
                   "--node " + c.master().url() + " --rows 20 --concurrency 2 --token " + admin)
              .exit_code == 0);
    c.wait_converged();
    CHECK(c.rows(c.replica(1), "SELECT count(*) FROM tokened").at(0).as_array().at(0) ==
          json::value(1));
    CHECK(c.rows(c.replica(1), "SELECT count(*) FROM dummy").at(0).as_array().at(0) ==
          json::value(20));
    c.check_same_checksums();
}

TEST_CASE("bench --nodes measures a cluster started with --auth when given --token",
          "[integration][tools][security]") {
    const std::string admin = "bench-admin-" + random_hex(16);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = json::serialize(json::array{json::object{{"token", admin}, {"role", "admin"}}});
    options.client_token = admin;
    Cluster c(options);
    const std::string short_run =
        " --duration 0.2 --concurrency 2 --keys 100 --nodes " + node_list(c);

    CommandRun refused = run_command(binary_path("bench") + short_run, /*with_stderr=*/true);
    INFO(refused.output);
    CHECK(refused.exit_code != 0);
    CHECK(refused.output.find("--token") != std::string::npos);

    CommandRun measured = run_tool("bench", short_run + " --json --token " + admin);
    INFO(measured.output);
    REQUIRE(measured.exit_code == 0);
    json::object report = json::parse(measured.output).as_object();
    CHECK(report.at("sqlrep_writes").as_object().at("errors") == json::value(0));
    CHECK(report.at("sqlrep_writes").as_object().at("ok").to_number<int64_t>() > 0);
    CHECK(report.at("sqlrep_reads").as_object().at("ok").to_number<int64_t>() > 0);
    c.wait_converged();
    // The 100 keys bench fills, and the lag probe's own row.
    CHECK(c.rows(c.replica(1), "SELECT count(*) FROM kv WHERE k LIKE 'key-%'")
              .at(0)
              .as_array()
              .at(0) == json::value(100));
    c.check_same_checksums();
}
