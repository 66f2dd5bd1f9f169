// Writes a client can retry (issue #17): an exec with a "request_id" is applied once however
// often it is sent, through any node, also after the master role moved; every failed exec
// says in "outcome" whether it was not applied, committed at an index, or unknown.

#include <catch2/catch.hpp>
#include <string>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;
namespace http = boost::beast::http;

const char* kTable = "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)";
const char* kInsert = "INSERT INTO kv(k, v) VALUES (?, ?)";

std::string field(const Response& r, const char* name) {
    if (!r.body.is_object()) return "";
    const json::value* v = r.body.as_object().if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : "";
}

bool duplicate(const Response& r) {
    if (!r.body.is_object()) return false;
    const json::value* v = r.body.as_object().if_contains("duplicate");
    return v && v->is_bool() && v->get_bool();
}

int64_t count(Cluster& c, Node& node, const std::string& k) {
    json::array rows = c.rows(node, "SELECT count(*) FROM kv WHERE k = ?", json::array{k});
    return rows.at(0).as_array().at(0).as_int64();
}

}  // namespace

TEST_CASE("a write sent again with its request_id, through any node, is applied once",
          "[integration][retry]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    json::object id{{"request_id", "retry-test-1"}};

    Response first = c.exec(c.replica(1), kInsert, json::array{"a", 1}, id);
    INFO("first: " << first.describe());
    REQUIRE(first.ok());
    CHECK_FALSE(duplicate(first));
    CHECK(first.int_field("rows_affected") == 1);

    // Another replica, then the master: the first outcome, nothing applied again (the
    // statement would fail on the primary key if it ran).
    for (Node* via : {&c.replica(2), &c.master()}) {
        Response again = c.exec(*via, kInsert, json::array{"a", 1}, id);
        INFO("again through " << via->name() << ": " << again.describe());
        REQUIRE(again.ok());
        CHECK(duplicate(again));
        CHECK(again.index() == first.index());
        CHECK(again.int_field("rows_affected") == 1);
    }
    c.wait_converged();
    for (Node* node : c.nodes()) CHECK(count(c, *node, "a") == 1);

    // A different id runs.
    Response other =
        c.exec(c.replica(1), kInsert, json::array{"b", 2}, {{"request_id", "retry-test-2"}});
    REQUIRE(other.ok());
    CHECK_FALSE(duplicate(other));
    CHECK(other.index() == first.index() + 1);
}

TEST_CASE("a request_id of the wrong shape is refused with 400 and not applied",
          "[integration][retry]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    for (Node* via : {&c.master(), &c.replica(1)}) {
        Response r =
            c.exec(*via, kInsert, json::array{"x", 1}, {{"request_id", std::string(129, 'x')}});
        INFO(r.describe());
        CHECK(r.status == 400);
        CHECK(field(r, "outcome") == "not_applied");
    }
    CHECK(count(c, c.master(), "x") == 0);
}

TEST_CASE("a write the router refuses before any role sees it says it was not applied",
          "[integration][retry]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    for (Node* via : {&c.master(), &c.replica(1)}) {
        NodeClient client(via->url());
        Response bad = client.post(json::value("not an object"));
        INFO(bad.describe());
        CHECK(bad.status == 400);
        CHECK(field(bad, "outcome") == "not_applied");
        // A forged node-to-node claim: refused on the headers, before the body is read.
        Response forged = client.post(
            json::object{{"command", "exec"}, {"query", "INSERT INTO kv VALUES ('f', 1)"}},
            {{"X-Sqlrep-Token", "wrong"}});
        INFO(forged.describe());
        CHECK(forged.status == 403);
        CHECK(field(forged, "outcome") == "not_applied");
    }
    CHECK(count(c, c.master(), "f") == 0);
}

TEST_CASE("the master refuses a write forwarded from an earlier term, unapplied",
          "[integration][retry]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    NodeClient client(c.master().url());
    Response r = client.post(
        json::object{{"command", "exec"}, {"query", "INSERT INTO kv VALUES ('old', 1)"}},
        {{"X-Sqlrep-Token", c.token()}, {"X-Sqlrep-Forwarded-By", "1"}, {"X-Sqlrep-Term", "0"}});
    INFO(r.describe());
    CHECK(r.status == 503);
    CHECK(field(r, "outcome") == "not_applied");
    CHECK(r.error().find("term 0") != std::string::npos);
    CHECK(count(c, c.master(), "old") == 0);
    // The replicas, which follow this master's term, forward as usual.
    CHECK(c.exec(c.replica(1), kInsert, json::array{"new", 1}).ok());
}

TEST_CASE("failed writes say whether they were not applied, committed at an index, or unknown",
          "[integration][retry]") {
    ClusterOptions o;
    o.master_args = {"--ack-timeout-ms", "500"};
    Cluster c(o);
    c.exec_ok(c.master(), kTable);
    int64_t index = c.exec_ok(c.master(), kInsert, json::array{"k", 1});
    c.wait_all_applied(index);

    SECTION("a statement that fails, on the master and through a replica") {
        for (Node* via : {&c.master(), &c.replica(1)}) {
            Response r = c.exec(*via, kInsert, json::array{"k", 2}, {{"request_id", "dup-key"}});
            INFO(via->name() << ": " << r.describe());
            CHECK(r.status == 400);
            CHECK(field(r, "outcome") == "not_applied");
        }
    }
    SECTION("a schema change sent to a replica") {
        Response r = c.exec(c.replica(1), "CREATE TABLE other(x)");
        INFO(r.describe());
        CHECK(r.status == 403);
        CHECK(field(r, "outcome") == "not_applied");
    }
    SECTION("an ack that does not come: committed at its index") {
        c.replica(2).kill();
        Response r = c.exec(c.master(), kInsert, json::array{"late", 1},
                            {{"ack", "all"}, {"request_id", "late-1"}});
        INFO(r.describe());
        CHECK(r.status == 504);
        CHECK(field(r, "outcome") == "committed");
        CHECK(r.index() == index + 1);
        // The same id again: the committed write, not a second one.
        Response again = c.exec(c.master(), kInsert, json::array{"late", 1},
                                {{"ack", "master"}, {"request_id", "late-1"}});
        INFO(again.describe());
        CHECK(again.ok());
        CHECK(duplicate(again));
        CHECK(again.index() == index + 1);
    }
    SECTION("a master that cannot be reached from a replica") {
        c.master().kill();
        Response r = c.exec(c.replica(1), kInsert, json::array{"lost", 1});
        INFO(r.describe());
        CHECK(r.status == 503);
        std::string outcome = field(r, "outcome");
        // The forwarder cannot tell whether a failed connection carried the request.
        CHECK((outcome == "unknown" || outcome == "not_applied"));
    }
}

TEST_CASE("after a handover, a retry through another node finds the write it retries",
          "[integration][retry][failover]") {
    ClusterOptions o;
    o.peers = true;
    Cluster c(o);
    c.exec_ok(c.master(), kTable);
    json::object id{{"request_id", "before-handover"}, {"ack", "quorum"}};
    Response first = c.exec(c.replica(2), kInsert, json::array{"h", 1}, id);
    INFO("first: " << first.describe());
    REQUIRE(first.ok());
    c.wait_converged();

    NodeClient admin = c.client(c.master());
    Response h =
        admin.request(http::verb::post, "/_cluster/handover", R"({"id":1})",
                      {{"X-Sqlrep-Token", c.token()}, {"Content-Type", "application/json"}}, 15s);
    INFO("handover: " << h.describe());
    REQUIRE(h.status == 200);
    c.wait_following(2, 1, 30s);
    c.wait_following(0, 1, 30s);

    // Node 1 is master now; node 2 and node 0 forward to it.
    for (int via : {2, 0, 1}) {
        Response again = c.exec(c.node(via), kInsert, json::array{"h", 1}, id);
        INFO("again through node " << via << ": " << again.describe());
        REQUIRE(again.ok());
        CHECK(duplicate(again));
        CHECK(again.index() == first.index());
    }
    int64_t next = c.exec_ok(c.replica(2), kInsert, json::array{"after", 1});
    c.wait_all_applied(next);
    for (Node* node : c.nodes()) CHECK(count(c, *node, "h") == 1);
}
