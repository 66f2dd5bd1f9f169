// Observability endpoints on real nodes: GET /metrics (Prometheus text, the same figures
// as /status) and GET /ready (the master: enough replicas connected for its ack mode; a
// replica: following; its lag bound is unit-tested in test/replica/readiness_test.cpp),
// both roles, with and without --auth.

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;

// The samples of an exposition, by name with labels; fails the test on any line that is
// neither a HELP/TYPE comment nor a well-formed sample.
std::map<std::string, std::string> samples(const std::string& text) {
    static const std::regex sample(
        R"(^(sqlrep_[a-z_]+(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})?) (-?[0-9]+)$)");
    static const std::regex comment(R"(^# (HELP|TYPE) sqlrep_[a-z_]+ .+$)");
    std::map<std::string, std::string> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        INFO("line: " << line);
        if (std::regex_match(line, comment)) continue;
        REQUIRE(std::regex_match(line, m, sample));
        out[m[1]] = m[4];
    }
    return out;
}

// Polls GET /ready on `node` until its status is `want`; returns the last answer.
Response wait_ready_status(const std::string& url, unsigned want) {
    NodeClient client(url);
    auto deadline = Clock::now() + kApplyTimeout;
    for (;;) {
        Response r = client.get("/ready");
        if (r.status == want) return r;
        INFO("GET /ready on " << url << ": " << r.describe());
        REQUIRE(Clock::now() < deadline);
        std::this_thread::sleep_for(50ms);
    }
}

}  // namespace

TEST_CASE("GET /metrics on every node is Prometheus text with the figures of /status",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE m (v)");
    c.exec_ok(c.master(), "INSERT INTO m VALUES (1)");
    c.wait_converged();
    int64_t index = c.master_index();

    for (Node* node : c.nodes()) {
        Response r = c.get(*node, "/metrics");
        INFO(node->name() << ":\n" << r.raw);
        REQUIRE(r.status == 200);
        auto m = samples(r.raw);
        CHECK(m.at("sqlrep_applied_index") == std::to_string(index));
        CHECK(m.at("sqlrep_term") == "1");
        CHECK(m.at("sqlrep_ready") == "1");
        CHECK(std::stoll(m.at("sqlrep_http_responses_total{code=\"200\"}")) >= 1);
        CHECK(m.count("sqlrep_requests_in_flight") == 1);
    }
    auto master = samples(c.get(c.master(), "/metrics").raw);
    CHECK(master.at("sqlrep_node_info{node_id=\"0\",role=\"master\",state=\"serving\"}") == "1");
    CHECK(master.at("sqlrep_replicas_configured") == "2");
    for (const char* id : {"1", "2"}) {
        std::string replica = std::string("{replica=\"") + id + "\"}";
        CHECK(master.at("sqlrep_replica_connected" + replica) == "1");
        CHECK(master.at("sqlrep_replica_acked_index" + replica) == std::to_string(index));
        CHECK(master.at("sqlrep_replica_lag_entries" + replica) == "0");
    }
    auto replica = samples(c.get(c.replica(1), "/metrics").raw);
    CHECK(replica.at("sqlrep_node_info{node_id=\"1\",role=\"replica\",state=\"following\"}") ==
          "1");
    CHECK(replica.at("sqlrep_lag_entries") == "0");
    CHECK(replica.at("sqlrep_resyncs_total") == "0");

    // Errors are counted by status.
    Response bad = c.query(c.replica(1), "SELEKT 1");
    REQUIRE(bad.status == 400);
    CHECK(samples(c.get(c.replica(1), "/metrics").raw)
              .at("sqlrep_http_responses_total{code=\"400\"}") == "1");
}

TEST_CASE("GET /ready: a master needs the replicas of its ack mode, a replica must follow",
          "[integration]") {
    Cluster c;
    for (Node* node : c.nodes()) {
        Response r = wait_ready_status(node->url(), 200);
        CHECK(r.body.at("ready") == json::value(true));
    }

    // ack=quorum needs one of the two replicas.
    c.replica(2).kill();
    CHECK(c.get(c.master(), "/ready").status == 200);
    c.replica(1).kill();
    Response down = wait_ready_status(c.master().url(), 503);
    INFO(down.describe());
    CHECK(down.body.at("ready") == json::value(false));
    CHECK(down.error().find("0 of 2 replica(s) connected") != std::string::npos);
    CHECK(down.error().find("quorum") != std::string::npos);
    CHECK(samples(c.get(c.master(), "/metrics").raw).at("sqlrep_ready") == "0");

    c.replica(1).start();
    c.replica(1).wait_ready();
    wait_ready_status(c.master().url(), 200);
    wait_ready_status(c.replica(1).url(), 200);

    // A replica that cannot reach its master is not ready, and says why.
    c.master().kill();
    Response lost = wait_ready_status(c.replica(1).url(), 503);
    INFO(lost.describe());
    CHECK(lost.error().find("the replica is connecting") != std::string::npos);
}

TEST_CASE("/ready is open under --auth; /metrics needs a token", "[integration]") {
    const std::string admin = "admin-" + random_hex(24);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = json::serialize(json::array{json::object{{"token", admin}, {"role", "admin"}}});
    options.client_token = admin;
    Cluster c(options);
    for (Node* node : c.nodes()) {
        NodeClient anonymous(node->url());
        INFO(node->name());
        CHECK(wait_ready_status(node->url(), 200).ok());
        CHECK(anonymous.get("/metrics").status == 401);
        NodeClient reader(node->url(), admin);
        CHECK(reader.get("/metrics").status == 200);
    }
}
