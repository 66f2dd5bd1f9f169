// The HTTP API of docs/API.md against real nodes: errors for bad input, paths and methods,
// forged replication headers, parameter binding and typed values, /status, /checksum.

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;
namespace http = boost::beast::http;

// A master and one replica: enough where replication itself is not what is tested.
ClusterOptions one_replica() {
    ClusterOptions options;
    options.replicas = 1;
    return options;
}

void check_json_error(const Response& r, unsigned status) {
    INFO(r.describe());
    CHECK(r.status == status);
    REQUIRE(r.body.is_object());
    CHECK(r.body.as_object().at("ok") == json::value(false));
    const auto* error = r.body.as_object().if_contains("error");
    REQUIRE(error != nullptr);
    REQUIRE(error->is_string());
    CHECK_FALSE(error->as_string().empty());
}

// The one row of a single-row answer.
json::array only_row(const Response& r) {
    INFO(r.describe());
    REQUIRE(r.ok());
    REQUIRE(r.rows().size() == 1);
    return r.rows().at(0).as_array();
}

int64_t count_rows(Cluster& c, Node& node, const std::string& table) {
    return c.rows(node, "SELECT count(*) FROM " + table).at(0).as_array().at(0).as_int64();
}

}  // namespace

TEST_CASE("malformed requests get 400 with a JSON error and the node keeps serving",
          "[integration]") {
    Cluster c(one_replica());
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)");
    c.exec_ok(c.master(), "INSERT INTO t(name) VALUES ('taken')");
    c.wait_converged();

    const std::vector<std::string> bodies = {
        "",
        "not json",
        "{\"command\":\"exec\"",                           // truncated
        "{\"command\":\"exec\",\"query\":\"SELECT 1\"}}",  // trailing garbage
        "[1,2,3]",
        "{}",
        "{\"query\":\"SELECT 1\"}",
        "{\"command\":\"frobnicate\",\"query\":\"SELECT 1\"}",
        "{\"command\":\"exec\"}",
        "{\"command\":\"query\",\"query\":42}",
        "{\"command\":7,\"query\":\"SELECT 1\"}",
        "{\"command\":\"exec\",\"query\":\"INSERT INTO t(name) VALUES (?)\",\"params\":\"x\"}",
        "{\"command\":\"exec\",\"batch\":\"INSERT INTO t(name) VALUES ('b')\"}",
        "{\"command\":\"exec\",\"query\":\"INSERT INTO t(name) VALUES "
        "('q')\",\"ack\":\"sometimes\"}",
        "{\"command\":\"query\",\"query\":\"SELECT 1\",\"min_index\":\"soon\"}",
        "{\"command\":\"exec\",\"query\":\"SELEC 1\"}",  // invalid SQL
        "{\"command\":\"query\",\"query\":\"SELECT * FROM no_such_table\"}",
        "{\"command\":\"query\",\"query\":\"INSERT INTO t(name) VALUES ('as-query')\"}",
        "{\"command\":\"exec\",\"query\":\"INSERT INTO t(name) VALUES ('taken')\"}",  // UNIQUE
        "{\"command\":\"exec\",\"query\":\"\"}",
    };
    for (Node* node : c.nodes()) {
        NodeClient client(node->url());
        for (const auto& body : bodies) {
            INFO(node->name() << " body: " << body);
            Response r = client.request(http::verb::post, "/", body);
            check_json_error(r, 400);
        }
    }

    // SQLite's own message is in the error.
    Response syntax = c.exec(c.master(), "SELEC 1");
    INFO(syntax.describe());
    CHECK(syntax.error().find("syntax error") != std::string::npos);
    Response unique = c.exec(c.replica(1), "INSERT INTO t(name) VALUES ('taken')");
    INFO(unique.describe());
    CHECK(unique.status == 400);
    CHECK(unique.error().find("UNIQUE constraint failed") != std::string::npos);

    // Nothing was written, every node still serves.
    c.wait_converged();
    for (Node* node : c.nodes()) {
        CHECK(c.get(*node, "/health").ok());
        CHECK(count_rows(c, *node, "t") == 1);
    }
}

TEST_CASE("unknown paths get 404 and wrong methods 405", "[integration]") {
    Cluster c(one_replica());
    for (Node* node : c.nodes()) {
        NodeClient client(node->url());
        INFO(node->name());
        check_json_error(client.get("/nope"), 404);
        check_json_error(client.get("/status/extra"), 404);
        check_json_error(client.request(http::verb::post, "/nope",
                                        "{\"command\":\"query\",\"query\":\"SELECT 1\"}"),
                         404);
        check_json_error(
            client.request(http::verb::put, "/", "{\"command\":\"query\",\"query\":\"SELECT 1\"}"),
            405);
        check_json_error(client.request(http::verb::delete_, "/", ""), 405);
        check_json_error(client.request(http::verb::post, "/status", "{}"), 405);
        CHECK(client.get("/health").ok());
    }
}

TEST_CASE("forged replication headers from a client get 403 and change nothing", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE f (id INTEGER PRIMARY KEY, v TEXT)");
    c.wait_converged();

    const std::string insert =
        "{\"command\":\"exec\",\"query\":\"INSERT INTO f(v) VALUES ('forged')\"}";
    const std::string ddl = "{\"command\":\"exec\",\"query\":\"CREATE TABLE forged (x)\"}";
    const std::string read = "{\"command\":\"query\",\"query\":\"SELECT count(*) FROM f\"}";
    const std::vector<std::map<std::string, std::string>> forged = {
        {{"X-Sqlrep-Forwarded-By", "1"}},
        {{"X-Sqlrep-Token", "wrong"}},
        {{"X-Sqlrep-Token", ""}},
        {{"X-Sqlrep-Forwarded-By", "1"}, {"X-Sqlrep-Token", "wrong"}},
        {{"X-Sqlrep-Forwarded-By", "2"}, {"X-Sqlrep-Token", c.token() + "x"}},
    };
    for (Node* node : c.nodes()) {
        NodeClient client(node->url());
        for (const auto& headers : forged) {
            for (const auto* body : {&insert, &ddl, &read}) {
                std::string shown;
                for (const auto& [k, v] : headers) shown += k + ": " + v + "; ";
                INFO(node->name() << " headers " << shown << " body " << *body);
                check_json_error(client.request(http::verb::post, "/", *body, headers), 403);
            }
        }
        // The replication stream is not open to clients either.
        Response stream = client.get("/_cluster/stream?replica_id=1&from=0");
        INFO(node->name() << " stream without token: " << stream.describe());
        CHECK(stream.status >= 400);
        CHECK(stream.status < 500);
    }

    c.wait_converged();
    for (Node* node : c.nodes()) {
        CHECK(count_rows(c, *node, "f") == 0);
        CHECK(c.rows(*node, "SELECT count(*) FROM sqlite_schema WHERE name = 'forged'")
                  .at(0)
                  .as_array()
                  .at(0) == json::value(0));
    }
}

TEST_CASE("parameters bind positionally and by name with typed values on every node",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(),
              "CREATE TABLE p (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, n, b BLOB, "
              "how TEXT)");
    const json::value blob = json::object{{"blob", "AAEC/w=="}};  // bytes 00 01 02 ff
    const std::string text = "h\u00e9llo \"quoted\" 'single' \\ \n\t end";
    const int64_t big = 9007199254740993;  // not representable as a double

    c.exec_ok(c.master(), "INSERT INTO p(i, r, s, n, b, how) VALUES (?, ?, ?, ?, ?, 'positional')",
              json::array{big, 2.5, text, nullptr, blob});
    c.exec_ok(c.replica(1),
              "INSERT INTO p(how, b, n, s, r, i) VALUES ('numbered', ?5, ?4, ?3, ?2, ?1)",
              json::array{INT64_MAX, -0.125, text, nullptr, blob});
    c.exec_ok(c.replica(2),
              "INSERT INTO p(i, r, s, n, b, how) VALUES (:i, :r, :s, :n, :b, 'colon')",
              json::object{
                  {":i", INT64_MIN}, {":r", 1e300}, {":s", text}, {":n", nullptr}, {":b", blob}});
    c.exec_ok(c.master(), "INSERT INTO p(i, s, how) VALUES (@i, @s, 'at')",
              json::object{{"@i", -1}, {"@s", ""}});
    c.exec_ok(c.replica(1), "INSERT INTO p(i, s, how) VALUES ($i, $s, 'dollar')",
              json::object{{"$i", 0}, {"$s", "$"}});

    SECTION("a batch binds each statement's own parameters as one entry") {
        json::object body{
            {"command", "exec"},
            {"batch",
             json::array{json::object{{"query", "INSERT INTO p(i, how) VALUES (?, 'batch')"},
                                      {"params", json::array{10}}},
                         json::object{{"query", "UPDATE p SET s = :s WHERE how = 'batch'"},
                                      {"params", json::object{{":s", "updated"}}}}}}};
        NodeClient client(c.replica(2).url());
        Response r = client.post(body);
        INFO(r.describe());
        REQUIRE(r.ok());
        CHECK(r.int_field("rows_affected") == 2);
        CHECK(r.body.as_object().at("results").as_array().size() == 2);
    }

    c.wait_converged();
    json::array rows = c.check_identical("SELECT how, i, r, s, n, b FROM p ORDER BY id");
    REQUIRE(rows.size() >= 5);
    auto row = [&](std::size_t i) { return rows.at(i).as_array(); };
    CHECK(row(0) == json::array{"positional", big, 2.5, text, nullptr, blob});
    CHECK(row(1) == json::array{"numbered", INT64_MAX, -0.125, text, nullptr, blob});
    CHECK(row(2) == json::array{"colon", INT64_MIN, 1e300, text, nullptr, blob});
    CHECK(row(3) == json::array{"at", -1, nullptr, "", nullptr, nullptr});
    CHECK(row(4) == json::array{"dollar", 0, nullptr, "$", nullptr, nullptr});
    c.check_same_checksums();

    // Reads bind too, positionally and by name, on a replica.
    Response by_pos =
        c.query(c.replica(1), "SELECT how FROM p WHERE i = ? AND s = ?", json::array{big, text});
    CHECK(only_row(by_pos) == json::array{"positional"});
    Response by_name = c.query(c.replica(2), "SELECT how, hex(b) FROM p WHERE b = :b AND i < 0",
                               json::object{{":b", blob}});
    CHECK(only_row(by_name) == json::array{"colon", "000102FF"});
}

TEST_CASE("exec answers carry the index, rows affected and last insert id", "[integration]") {
    Cluster c(one_replica());
    Response create = c.exec(c.master(), "CREATE TABLE e (id INTEGER PRIMARY KEY, v INTEGER)");
    REQUIRE(create.ok());
    Response multi =
        c.exec(c.replica(1), "INSERT INTO e(v) VALUES (1); INSERT INTO e(v) VALUES (2), (3)");
    INFO(multi.describe());
    REQUIRE(multi.ok());
    CHECK(multi.index() > create.index());
    CHECK(multi.int_field("rows_affected") == 3);
    CHECK(multi.int_field("last_insert_id") == 3);
    CHECK(multi.body.as_object().at("results").as_array().size() == 2);

    Response returning = c.exec(c.master(), "UPDATE e SET v = v * 10 WHERE v >= 2 RETURNING id, v");
    INFO(returning.describe());
    REQUIRE(returning.ok());
    CHECK(returning.int_field("rows_affected") == 2);
    CHECK(returning.index() > multi.index());

    // An atomic unit: one failing statement undoes the others.
    Response failing =
        c.exec(c.master(), "INSERT INTO e(v) VALUES (4); INSERT INTO e(id) VALUES (1)");
    CHECK(failing.status == 400);
    c.wait_converged();
    json::array rows = c.check_identical("SELECT id, v FROM e ORDER BY id");
    CHECK(json::value(rows) == json::parse("[[1,1],[2,20],[3,30]]"));
}

TEST_CASE("GET /status reports role, term, applied index, master and replica progress",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE s (x)");
    c.wait_converged();
    int64_t idx =
        c.exec_ok(c.master(), "INSERT INTO s VALUES (1)", nullptr, json::object{{"ack", "all"}});
    c.wait_all_applied(idx);

    json::object m = c.status(c.master());
    INFO("master /status: " << json::serialize(m));
    CHECK(m.at("node_id") == json::value(0));
    CHECK(m.at("role") == json::value("master"));
    CHECK(m.at("term").as_int64() >= 1);
    CHECK(m.at("applied_index").as_int64() >= idx);
    CHECK(m.at("master") == json::value(c.master().url()));
    CHECK(m.at("state") == json::value("serving"));

    // Replica progress on the master, bounded wait until both have acked everything.
    auto deadline = Clock::now() + kApplyTimeout;
    while (true) {
        m = c.status(c.master());
        const auto& replicas = m.at("replicas").as_array();
        bool caught_up = replicas.size() == 2;
        for (const auto& r : replicas)
            caught_up = caught_up && r.as_object().at("acked_index").as_int64() >= idx &&
                        r.as_object().at("connected") == json::value(true);
        if (caught_up || Clock::now() >= deadline) break;
        std::this_thread::sleep_for(50ms);
    }
    INFO("master /status: " << json::serialize(m));
    const auto& replicas = m.at("replicas").as_array();
    REQUIRE(replicas.size() == 2);
    std::set<int64_t> ids;
    for (const auto& rv : replicas) {
        const auto& r = rv.as_object();
        ids.insert(r.at("id").as_int64());
        CHECK(r.at("acked_index").as_int64() >= idx);
        CHECK(r.at("lag").as_int64() == 0);
        CHECK(r.at("connected") == json::value(true));
    }
    CHECK(ids == std::set<int64_t>{1, 2});

    for (int id = 1; id <= c.replica_count(); ++id) {
        json::object s = c.status(c.replica(id));
        INFO("replica " << id << " /status: " << json::serialize(s));
        CHECK(s.at("node_id") == json::value(id));
        CHECK(s.at("role") == json::value("replica"));
        CHECK(s.at("term") == m.at("term"));
        CHECK(s.at("applied_index").as_int64() >= idx);
        CHECK(s.at("master") == json::value(c.master().url()));
        CHECK(s.at("state") == json::value("following"));
        CHECK(s.at("replicas").as_array().empty());
    }
}

TEST_CASE("GET /checksum lists user tables only and agrees across nodes", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)");
    c.exec_ok(c.master(), "CREATE TABLE b (k TEXT PRIMARY KEY, w REAL) WITHOUT ROWID");
    c.exec_ok(c.replica(1), "INSERT INTO a(v) VALUES ('x'), ('y'), (NULL)");
    c.exec_ok(c.replica(2), "INSERT INTO b VALUES ('k1', 1.5)");
    c.wait_converged();
    c.check_same_checksums();

    json::object sums = c.checksums(c.replica(2));
    INFO(json::serialize(sums));
    const auto& tables = sums.at("tables").as_array();
    std::map<std::string, int64_t> rows_by_table;
    for (const auto& t : tables) {
        std::string name(t.as_object().at("name").as_string());
        CHECK(name.rfind("_sqlrep", 0) != 0);
        CHECK(name.rfind("sqlite_", 0) != 0);
        CHECK_FALSE(t.as_object().at("checksum").as_string().empty());
        rows_by_table[name] = t.as_object().at("rows").as_int64();
    }
    CHECK(rows_by_table == std::map<std::string, int64_t>{{"a", 3}, {"b", 1}});

    // A change in one row changes that table's checksum and no other.
    std::string a_before, b_before;
    for (const auto& t : tables) {
        if (t.as_object().at("name") == json::value("a"))
            a_before = t.as_object().at("checksum").as_string();
        if (t.as_object().at("name") == json::value("b"))
            b_before = t.as_object().at("checksum").as_string();
    }
    c.exec_ok(c.master(), "UPDATE a SET v = 'z' WHERE id = 3");
    c.wait_converged();
    c.check_same_checksums();
    json::object changed = c.checksums(c.replica(1));
    for (const auto& t : changed.at("tables").as_array()) {
        if (t.as_object().at("name") == json::value("a"))
            CHECK(t.as_object().at("checksum").as_string() != a_before);
        if (t.as_object().at("name") == json::value("b"))
            CHECK(t.as_object().at("checksum").as_string() == b_before);
    }
}

TEST_CASE("forbidden statements get 403 on every node", "[integration]") {
    Cluster c(one_replica());
    c.exec_ok(c.master(), "CREATE TABLE t (x)");
    c.wait_converged();
    const std::vector<std::string> statements = {
        "ATTACH DATABASE '" + c.dir() + "/attached.db' AS other",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA writable_schema = ON",
        "PRAGMA synchronous = OFF",
        "SELECT * FROM _sqlrep_log",
        "DELETE FROM _sqlrep_log",
        "UPDATE _sqlrep_meta SET rowid = rowid",
        "BEGIN",
        "COMMIT",
        "SAVEPOINT s1",
        "CREATE TEMP TABLE tmp (x)",
        "SELECT load_extension('/nonexistent')",
        "VACUUM INTO '" + c.dir() + "/vacuumed.db'",
    };
    for (Node* node : c.nodes()) {
        for (const auto& sql : statements) {
            for (const char* command : {"exec", "query"}) {
                NodeClient client(node->url());
                json::object body{{"command", command}, {"query", sql}};
                Response r = client.post(body);
                INFO(node->name() << " " << command << " " << sql << " -> " << r.describe());
                // A forbidden statement is 403 however it is sent; a write sent as query may
                // be rejected as such first (400), but never run.
                if (std::string(command) == "exec")
                    CHECK(r.status == 403);
                else
                    CHECK((r.status == 403 || r.status == 400));
                CHECK_FALSE(r.ok());
            }
        }
        CHECK(c.get(*node, "/health").ok());
    }
}

TEST_CASE("a read that outlasts the I/O thread's budget still answers, from the read pool",
          "[integration]") {
    // A read starts on the I/O thread with a 2 ms budget and moves to the read pool when it
    // needs longer; the client must see one ordinary answer either way.
    Cluster c(one_replica());
    const std::string slow =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) "
        "SELECT count(*), sum(i) FROM n";
    for (Node* node : {&c.master(), &c.replica(1)}) {
        auto started = std::chrono::steady_clock::now();
        Response r = c.query(*node, slow);
        auto took = std::chrono::steady_clock::now() - started;
        INFO(r.describe());
        REQUIRE(r.ok());
        CHECK(only_row(r) == json::array{2000000, int64_t{2000001000000}});
        // It did outlast the budget, so the pool path is what answered.
        CHECK(took > std::chrono::milliseconds(2));
    }
}
