// GET /_cluster/overview (the console's cluster panel) and GET /_auth/whoami against real
// clusters: every node lists every node in sync; a replica changed behind sqlrep's back is
// named with its table, as show_all names it; a stopped node is unreachable; the roles.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "cluster.hpp"

using namespace sqlrep::test;

namespace {

std::string text(const json::object& o, const char* name) {
    return std::string(o.at(name).as_string());
}

}  // namespace

TEST_CASE("every node's cluster overview lists every node, in sync at the master's index",
          "[integration][console]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    int64_t index =
        cluster.exec_ok(cluster.replica(1), "INSERT INTO fruit (name) VALUES ('apple'), ('pear')");
    cluster.wait_all_applied(index);

    for (Node* asked : cluster.nodes()) {
        INFO("asked " << asked->name());
        Response r = cluster.get(*asked, "/_cluster/overview");
        INFO(r.describe());
        REQUIRE(r.ok());
        const json::object& o = r.body.as_object();
        CHECK(text(o, "verdict") == "in_sync");
        CHECK(text(o, "summary") == "IN SYNC at index " + std::to_string(o.at("index").as_int64()));
        CHECK(o.at("index").as_int64() >= index);
        CHECK(o.at("expected_nodes").as_int64() == 3);
        const json::array& nodes = o.at("nodes").as_array();
        REQUIRE(nodes.size() == 3);
        for (std::size_t id = 0; id < nodes.size(); ++id) {
            const json::object& n = nodes[id].as_object();
            CHECK(n.at("node_id").as_int64() == static_cast<int64_t>(id));
            CHECK(text(n, "url") == cluster.node(static_cast<int>(id)).url());
            CHECK(text(n, "role") == (id == 0 ? "master" : "replica"));
            CHECK(n.at("connected") == json::value(true));
            CHECK(n.at("ready") == json::value(true));
            CHECK(n.at("lag").as_int64() == 0);
            const json::array& tables = n.at("tables").as_array();
            REQUIRE(tables.size() == 1);
            CHECK(text(tables[0].as_object(), "name") == "fruit");
            CHECK(tables[0].at("rows").as_int64() == 2);
        }
        std::set<std::string> checksums;
        for (const auto& n : nodes)
            checksums.insert(text(n.at("tables").as_array()[0].as_object(), "checksum"));
        CHECK(checksums.size() == 1);
    }
}

TEST_CASE(
    "the cluster overview names the table that differs on a replica changed behind "
    "sqlrep's back",
    "[integration][console]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    cluster.exec_ok(cluster.master(), "INSERT INTO fruit (name) VALUES ('apple'), ('pear')");
    cluster.wait_converged();

    cluster.replica(2).terminate();
    tamper(cluster.database_path(2), "UPDATE fruit SET name = 'plum' WHERE id = 1");
    cluster.replica(2).start();
    cluster.replica(2).wait_ready();
    cluster.wait_converged();

    Response r = cluster.get(cluster.replica(1), "/_cluster/overview");
    INFO(r.describe());
    REQUIRE(r.ok());
    const json::object& o = r.body.as_object();
    CHECK(text(o, "verdict") == "diverged");
    CHECK(text(o, "summary").rfind("DIVERGED: fruit differs on " + cluster.replica(2).url(), 0) ==
          0);
    const json::array& differences = o.at("differences").as_array();
    REQUIRE(differences.size() == 1);
    CHECK(text(differences[0].as_object(), "table") == "fruit");
    CHECK(text(differences[0].as_object(), "node") == cluster.replica(2).url());
    CHECK(text(differences[0].as_object(), "reason") == "checksum differs");
}

TEST_CASE("the cluster overview reports a stopped node as unreachable", "[integration][console]") {
    ClusterOptions options;
    options.peers = true;  // the others know the stopped node from --peers
    Cluster cluster(options);
    cluster.replica(2).kill();

    Response r = cluster.get(cluster.master(), "/_cluster/overview");
    INFO(r.describe());
    REQUIRE(r.ok());
    const json::object& o = r.body.as_object();
    CHECK(text(o, "verdict") == "unreachable");
    CHECK(text(o, "summary").find("UNREACHABLE: " + cluster.replica(2).url()) != std::string::npos);
    bool listed = false;
    for (const auto& n : o.at("nodes").as_array())
        if (text(n.as_object(), "url") == cluster.replica(2).url()) {
            listed = true;
            CHECK(n.at("reachable") == json::value(false));
            CHECK_FALSE(text(n.as_object(), "error").empty());
        }
    CHECK(listed);
}

TEST_CASE("the overview and whoami need a token under --auth and tell the caller's role",
          "[integration][console][security]") {
    const std::string read = "overview-read-" + random_hex(16);
    const std::string admin = "overview-admin-" + random_hex(16);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = "[{\"token\": \"" + read + "\", \"role\": \"read\"}, {\"token\": \"" + admin +
                   "\", \"role\": \"admin\"}]";
    options.client_token = admin;
    Cluster cluster(options);

    NodeClient anonymous(cluster.master().url());
    CHECK(anonymous.get("/_cluster/overview").status == 401);
    CHECK(anonymous.get("/_auth/whoami").status == 401);
    // The console page itself holds no data and needs no token.
    Response page = anonymous.request(boost::beast::http::verb::get, "/console", "");
    CHECK(page.status == 200);
    CHECK(page.raw.rfind("<!doctype html>", 0) == 0);
    Response browser = anonymous.request(boost::beast::http::verb::get, "/", "",
                                         {{"Accept", "text/html,application/xhtml+xml"}});
    CHECK(browser.status == 200);
    CHECK(anonymous.get("/").status == 401);  // not a browser: the API, which wants a token

    NodeClient reader(cluster.replica(1).url(), read);
    Response who = reader.get("/_auth/whoami");
    INFO(who.describe());
    CHECK(who.ok());
    CHECK(who.body.at("role") == json::value("read"));
    CHECK(who.body.at("auth") == json::value(true));
    Response overview = reader.get("/_cluster/overview");
    INFO(overview.describe());
    CHECK(overview.ok());
    CHECK(overview.body.at("verdict") == json::value("in_sync"));
    CHECK(reader.request(boost::beast::http::verb::post, "/_cluster/overview", "{}").status == 405);
    CHECK(reader.request(boost::beast::http::verb::post, "/_cluster/promote", "{}").status == 403);
}
