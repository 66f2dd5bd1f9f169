// rqlite's HTTP API (docs/API.md, "rqlite compatibility") against real clusters, through
// every node: bodies and parameter forms, response shapes and declared types, per-statement
// errors, transactions that roll back, associative results, blobs, queued writes, read
// levels after a write through another node, /status, /readyz, /nodes, HTTP Basic auth.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;
namespace http = boost::beast::http;

ClusterOptions one_replica() {
    ClusterOptions options;
    options.replicas = 1;
    return options;
}

Response post(Cluster& c, Node& node, const std::string& target, const std::string& body) {
    return c.client(node).request(http::verb::post, target, body);
}

Response get(Cluster& c, Node& node, const std::string& target) {
    return c.client(node).get(target);
}

// The "results" array of a 200 answer.
json::array results(const Response& r) {
    INFO(r.describe());
    REQUIRE(r.status == 200);
    REQUIRE(r.body.is_object());
    REQUIRE(r.body.as_object().contains("results"));
    return r.body.as_object().at("results").as_array();
}

json::value parse(const std::string& text) { return json::parse(text); }

int64_t count(Cluster& c, Node& node, const std::string& table) {
    return c.rows(node, "SELECT count(*) FROM " + table).at(0).as_array().at(0).as_int64();
}

}  // namespace

TEST_CASE("rqlite execute and query answer in rqlite's shapes on every node", "[integration]") {
    Cluster c(one_replica());
    auto created = results(post(
        c, c.master(), "/db/execute",
        R"j(["CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT, age integer, score REAL)"])j"));
    CHECK(created == parse("[{}]"));

    for (Node* node : c.nodes()) {
        INFO(node->name());
        // Plain SQL, positional parameters and named ones, in one request.
        auto r = results(post(c, *node, "/db/execute",
                              R"j(["INSERT INTO foo(name, age) VALUES ('fiona', 20)",
                ["INSERT INTO foo(name, age) VALUES (?, ?)", "declan", 30],
                ["INSERT INTO foo(name, age) VALUES (:name, :age)", {"name": "aoife", "age": 40}]])j"));
        REQUIRE(r.size() == 3);
        for (const auto& one : r) {
            CHECK(one.as_object().at("rows_affected") == json::value(1));
            CHECK(one.as_object().at("last_insert_id").as_int64() > 0);
        }
        auto q = results(post(c, *node, "/db/query?level=strong",
                              R"j([["SELECT name, age FROM foo WHERE age = ?", 30],
                                  "SELECT count(*) AS n FROM foo WHERE name = 'nobody'"])j"));
        REQUIRE(q.size() == 2);
        CHECK(q[0] == parse(R"j({"columns":["name","age"],"types":["text","integer"],
                                "values":[["declan",30]]})j"));
        // A result without rows has no "values", as rqlite's; an expression's type is its
        // value's.
        CHECK(q[1] == parse(R"j({"columns":["n"],"types":["integer"],"values":[[0]]})j"));
        auto none = results(
            get(c, *node, "/db/query?level=strong&q=SELECT%20*%20FROM%20foo%20WHERE%20id%3D-1"));
        REQUIRE(none.size() == 1);
        CHECK(none[0] == parse(R"j({"columns":["id","name","age","score"],
                                   "types":["integer","text","integer","real"]})j"));
        c.exec_ok(c.master(), "DELETE FROM foo");
    }

    // GET /db/query?q=, associative, timings and pretty.
    c.exec_ok(c.master(), "INSERT INTO foo(id, name, age, score) VALUES (1, 'fiona', 20, 1.5)");
    c.wait_converged();
    for (Node* node : c.nodes()) {
        INFO(node->name());
        Response r = get(c, *node,
                         "/db/query?associative&timings&pretty&level=none&q=" +
                             std::string("SELECT+id,+name,+score+FROM+foo"));
        auto rows = results(r);
        REQUIRE(rows.size() == 1);
        const json::object& one = rows[0].as_object();
        CHECK(one.at("types") == parse(R"j({"id":"integer","name":"text","score":"real"})j"));
        CHECK(one.at("rows") == parse(R"j([{"id":1,"name":"fiona","score":1.5}])j"));
        CHECK(one.at("time").is_double());
        CHECK(r.body.as_object().at("time").is_double());
        CHECK(r.raw.find("\n    \"results\": [") != std::string::npos);  // indented
    }
}

TEST_CASE("rqlite errors are per statement with 200 and a transaction rolls back on one",
          "[integration]") {
    Cluster c(one_replica());
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    c.wait_converged();
    for (Node* node : c.nodes()) {
        INFO(node->name());
        c.exec_ok(c.master(), "DELETE FROM t");
        // Without transaction each statement stands alone: the ones before and after the
        // failing one are applied.
        auto r = results(post(c, *node, "/db/execute",
                              R"j(["INSERT INTO t(v) VALUES ('a')", "INSERT INTO t(v) VALUES ('a')",
                                  "nonsense", "INSERT INTO t(v) VALUES ('b')"])j"));
        REQUIRE(r.size() == 4);
        CHECK(r[0].as_object().at("rows_affected") == json::value(1));
        CHECK(std::string(r[1].as_object().at("error").as_string()).find("UNIQUE") !=
              std::string::npos);
        CHECK(std::string(r[2].as_object().at("error").as_string()).find("syntax error") !=
              std::string::npos);
        CHECK(r[3].as_object().at("rows_affected") == json::value(1));
        CHECK(count(c, c.master(), "t") == 2);

        // With transaction nothing of it is applied; as rqlite, the results list the
        // statements before the failing one (rolled back too), then its error, and
        // nothing after it.
        auto tx =
            results(post(c, *node, "/db/execute?transaction",
                         R"j(["INSERT INTO t(v) VALUES ('c')", "INSERT INTO t(v) VALUES ('z')",
                                   "INSERT INTO t(v) VALUES ('a')", "INSERT INTO t(v) VALUES ('y')"])j"));
        REQUIRE(tx.size() == 3);
        CHECK(tx[0].as_object().at("rows_affected") == json::value(1));
        CHECK(tx[1].as_object().at("rows_affected") == json::value(1));
        CHECK(std::string(tx[2].as_object().at("error").as_string()).find("UNIQUE") !=
              std::string::npos);
        CHECK(count(c, c.master(), "t") == 2);
        CHECK(c.rows(c.master(), "SELECT count(*) FROM t WHERE v = 'c'").at(0) == parse("[0]"));
        // A transaction that succeeds answers every statement.
        auto ok = results(
            post(c, *node, "/db/execute?transaction=true",
                 R"j(["INSERT INTO t(v) VALUES ('d')", "UPDATE t SET v = 'e' WHERE v = 'd'"])j"));
        CHECK(ok.size() == 2);
        CHECK(count(c, c.master(), "t") == 3);

        // A failing query reports its error in place; the others answer.
        auto q = results(post(c, *node, "/db/query",
                              R"j(["SELECT count(*) FROM t", "SELECT * FROM missing"])j"));
        REQUIRE(q.size() == 2);
        CHECK(q[0].as_object().at("values") == parse("[[3]]"));
        CHECK(std::string(q[1].as_object().at("error").as_string()).find("no such table") !=
              std::string::npos);
    }
    // Malformed bodies and wrong methods get rqlite's statuses.
    CHECK(post(c, c.master(), "/db/execute", "{\"not\": \"an array\"}").status == 400);
    CHECK(post(c, c.master(), "/db/execute", "[42]").status == 400);
    CHECK(get(c, c.master(), "/db/execute").status == 405);
    CHECK(post(c, c.master(), "/db/query?level=sometimes", "[\"SELECT 1\"]").status == 400);
    // A replica refuses schema changes, inside results.
    auto ddl = results(post(c, c.replica(1), "/db/execute", R"j(["CREATE TABLE nope (x)"])j"));
    CHECK(ddl[0].as_object().contains("error"));
    // Forbidden statements stay forbidden.
    auto attach =
        results(post(c, c.master(), "/db/execute", R"j(["ATTACH DATABASE ':memory:' AS x"])j"));
    CHECK(attach[0].as_object().contains("error"));
}

TEST_CASE("rqlite blobs come back as base64 or, with blob_array, as bytes", "[integration]") {
    Cluster c(one_replica());
    c.exec_ok(c.master(), "CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)");
    results(post(c, c.replica(1), "/db/execute",
                 R"j(["INSERT INTO b(id, data) VALUES (1, x'00ff10')"])j"));
    for (Node* node : c.nodes()) {
        INFO(node->name());
        auto plain = results(get(c, *node, "/db/query?level=strong&q=SELECT+data+FROM+b"));
        CHECK(plain[0] == parse(R"j({"columns":["data"],"types":["blob"],"values":[["AP8Q"]]})j"));
        auto bytes =
            results(get(c, *node, "/db/query?level=strong&blob_array&q=SELECT+data+FROM+b"));
        CHECK(bytes[0].as_object().at("values") == parse("[[[0,255,16]]]"));
    }
}

TEST_CASE("rqlite queued writes answer at once and are applied in order and wait waits",
          "[integration]") {
    Cluster c(one_replica());
    c.exec_ok(c.master(), "CREATE TABLE q (id INTEGER PRIMARY KEY, v INTEGER)");
    c.wait_converged();
    int64_t last = 0;
    for (Node* node : c.nodes()) {
        INFO(node->name());
        for (int i = 0; i < 20; ++i) {
            Response r = post(c, *node, "/db/execute?queue",
                              "[[\"INSERT INTO q(v) VALUES (?)\", " + std::to_string(i) + "]]");
            INFO(r.describe());
            REQUIRE(r.status == 200);
            int64_t sequence = r.body.as_object().at("sequence_number").as_int64();
            CHECK(sequence > last);
            last = sequence;
        }
        Response waited =
            post(c, *node, "/db/execute?queue&wait", R"j([["INSERT INTO q(v) VALUES (?)", 100]])j");
        INFO(waited.describe());
        REQUIRE(waited.status == 200);
        CHECK(waited.body.as_object().at("results") == parse("[]"));
        // After wait every queued write of this node is applied, in order.
        auto r = results(post(c, *node, "/db/query?level=strong",
                              R"j(["SELECT v FROM q ORDER BY id DESC LIMIT 21"])j"));
        json::array expected;
        expected.push_back(json::array{100});
        for (int i = 19; i >= 0; --i) expected.push_back(json::array{i});
        CHECK(r[0].as_object().at("values") == json::value(expected));
    }
}

TEST_CASE("rqlite read levels see a write made through another node", "[integration]") {
    Cluster c;  // a master and two replicas
    results(post(c, c.master(), "/db/execute",
                 R"j(["CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)"])j"));
    int n = 0;
    for (Node* writer : c.nodes()) {
        for (Node* reader : c.nodes()) {
            if (reader == writer) continue;
            INFO(writer->name() << " -> " << reader->name());
            std::string value = "w" + std::to_string(n++);
            results(post(c, *writer, "/db/execute",
                         "[[\"INSERT INTO r(v) VALUES (?)\", \"" + value + "\"]]"));
            std::string where = "SELECT+count(*)+FROM+r+WHERE+v%3D%27" + value + "%27";
            // weak, linearizable and strong (and no level: weak) are served by the master.
            for (std::string level : {"", "&level=weak", "&level=linearizable", "&level=strong"}) {
                INFO(level);
                auto r = results(get(c, *reader, "/db/query?q=" + where + level));
                CHECK(r[0].as_object().at("values") == parse("[[1]]"));
            }
            // none with freshness waits until this node has what the master had.
            auto fresh = results(get(c, *reader, "/db/query?level=none&freshness=1s&q=" + where));
            if (reader->name() != "master" && writer->name() != "master") {
                // A replica knows the master's index only from its stream: the write is
                // there once it has applied it.
                c.wait_converged();
                fresh = results(get(c, *reader, "/db/query?level=none&freshness=1s&q=" + where));
            }
            CHECK(fresh[0].as_object().at("values") == parse("[[1]]"));
            // none and auto read what this node has: after it caught up, the write.
            c.wait_converged();
            for (std::string level : {"none", "auto"}) {
                auto r = results(get(c, *reader, "/db/query?level=" + level + "&q=" + where));
                CHECK(r[0].as_object().at("values") == parse("[[1]]"));
            }
        }
    }
}

TEST_CASE("rqlite /db/request runs a mix of reads and writes", "[integration]") {
    Cluster c(one_replica());
    c.exec_ok(c.master(), "CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)");
    c.wait_converged();
    for (Node* node : c.nodes()) {
        INFO(node->name());
        c.exec_ok(c.master(), "DELETE FROM m");
        auto r = results(post(c, *node, "/db/request?transaction",
                              R"j([["INSERT INTO m(v) VALUES (?)", "x"], "SELECT v FROM m"])j"));
        REQUIRE(r.size() == 2);
        CHECK(r[0].as_object().at("rows_affected") == json::value(1));
        CHECK(r[1].as_object().at("values") == parse(R"j([["x"]])j"));
        auto reads = results(post(c, *node, "/db/request?level=strong",
                                  R"j(["SELECT count(*) FROM m", "SELECT v FROM m"])j"));
        CHECK(reads.size() == 2);
        CHECK(reads[0].as_object().at("values") == parse("[[1]]"));
    }
}

TEST_CASE("rqlite /status and /readyz and /nodes on every node", "[integration]") {
    Cluster c(one_replica());
    c.wait_converged();
    for (Node* node : c.nodes()) {
        INFO(node->name());
        json::object s = c.status(*node);
        CHECK(s.contains("applied_index"));  // sqrep's own fields stay
        CHECK_FALSE(std::string(s.at("build").at("version").as_string()).empty());
        CHECK(s.at("build").as_object().contains("commit"));
        CHECK(s.at("http").as_object().contains("bind_addr"));
        CHECK(s.at("node").as_object().contains("start_time"));
        CHECK(s.at("runtime").as_object().contains("GOOS"));
        CHECK(s.at("store").at("ready") == json::value(true));
        CHECK(s.at("store").at("leader").at("api_addr") == json::value(c.master().url()));

        Response ready = get(c, *node, "/readyz");
        CHECK(ready.status == 200);
        CHECK(ready.raw.find("[+]leader ok") != std::string::npos);

        Response nodes = get(c, *node, "/nodes?ver=2");
        INFO(nodes.describe());
        REQUIRE(nodes.status == 200);
        bool leader_seen = false;
        for (const auto& n : nodes.body.at("nodes").as_array()) {
            if (n.at("leader") == json::value(true)) {
                leader_seen = true;
                CHECK(n.at("api_addr") == json::value(c.master().url()));
                CHECK(n.at("reachable") == json::value(true));
            } else if (node == &c.master()) {
                // The master names each replica's address (from its stream handshake).
                int id = std::stoi(std::string(n.at("id").as_string()));
                CHECK(n.at("api_addr") == json::value(c.replica(id).url()));
            }
        }
        CHECK(leader_seen);
        CHECK(get(c, *node, "/nodes").body.as_object().contains("0"));
    }
    for (const char* binary : {"master", "replica"}) {
        CommandRun run = run_command(binary_path(binary) + " --version");
        CHECK(run.exit_code == 0);
        CHECK(run.output.find(std::string(binary) + " ") == 0);
        CHECK(run.output.find("commit") != std::string::npos);
    }
}

TEST_CASE("rqlite's HTTP Basic auth presents a client token and roles apply", "[integration]") {
    const std::string reader = "reader-" + random_hex(24);
    const std::string writer = "writer-" + random_hex(24);
    ClusterOptions options = one_replica();
    options.auth = json::serialize(json::array{json::object{{"token", reader}, {"role", "read"}},
                                               json::object{{"token", writer}, {"role", "admin"}}});
    options.client_token = writer;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE a (id INTEGER PRIMARY KEY)");
    c.wait_converged();
    auto basic = [](const std::string& user, const std::string& password) {
        std::string plain = user + ":" + password;
        std::string out;
        static const char* kAlphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::size_t i = 0;
        for (; i + 2 < plain.size(); i += 3) {
            unsigned v = (unsigned char)plain[i] << 16 | (unsigned char)plain[i + 1] << 8 |
                         (unsigned char)plain[i + 2];
            for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
        }
        if (i < plain.size()) {
            unsigned v = (unsigned char)plain[i] << 16;
            if (i + 1 < plain.size()) v |= (unsigned char)plain[i + 1] << 8;
            out += kAlphabet[(v >> 18) & 63];
            out += kAlphabet[(v >> 12) & 63];
            out += i + 1 < plain.size() ? kAlphabet[(v >> 6) & 63] : '=';
            out += '=';
        }
        return "Basic " + out;
    };
    for (Node* node : c.nodes()) {
        INFO(node->name());
        NodeClient anonymous(node->url());
        CHECK(anonymous
                  .request(http::verb::post, "/db/execute", R"j(["INSERT INTO a DEFAULT VALUES"])j")
                  .status == 401);
        CHECK(anonymous.get("/readyz").status == 200);  // open, like /ready
        Response w = anonymous.request(http::verb::post, "/db/execute",
                                       R"j(["INSERT INTO a DEFAULT VALUES"])j",
                                       {{"Authorization", basic("anyone", writer)}});
        INFO(w.describe());
        CHECK(w.status == 200);
        Response r = anonymous.request(http::verb::post, "/db/execute",
                                       R"j(["INSERT INTO a DEFAULT VALUES"])j",
                                       {{"Authorization", basic("anyone", reader)}});
        CHECK(r.status == 403);
        Response q = anonymous.request(http::verb::get, "/db/query?q=SELECT+count(*)+FROM+a", "",
                                       {{"Authorization", basic("anyone", reader)}});
        INFO(q.describe());
        CHECK(q.status == 200);
        CHECK(anonymous.get("/status").status == 401);
    }
}
