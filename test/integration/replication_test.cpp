// Replication end to end: DDL from the master reaches every replica, DDL on a replica is
// refused, writes through any node from concurrent clients converge to identical rows,
// nondeterministic SQL replays identically, and reads see the writes they should.

#include <atomic>
#include <catch2/catch.hpp>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;

// User schema objects (tables, indexes, views, triggers), without SQLite's own and without
// names starting with '_' (sqlrep's reserved tables; no test object starts with one).
const char* kSchemaQuery =
    "SELECT type, name, tbl_name, sql FROM sqlite_schema "
    "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_%' ESCAPE '\\' "
    "ORDER BY type, name";

bool has_object(const json::array& schema, const std::string& type, const std::string& name) {
    for (const auto& row : schema) {
        const auto& r = row.as_array();
        if (r.at(0).as_string() == type && r.at(1).as_string() == name) return true;
    }
    return false;
}

// [[v]]: the rows of a one-row, one-column answer.
json::value one_row(json::value v) {
    json::array row;
    row.push_back(std::move(v));
    json::array rows;
    rows.push_back(std::move(row));
    return rows;
}

const char* kUsersTable =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE, email TEXT, "
    "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)";

}  // namespace

TEST_CASE("DDL executed on the master reaches every replica", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), kUsersTable, nullptr, json::object{{"is_master", false}});
    c.exec_ok(c.master(), "  /* x */ create index users_email on users(email)");
    c.exec_ok(c.master(), "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT)");
    c.exec_ok(c.master(),
              "CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN "
              "INSERT INTO audit(who) VALUES (new.username); END");
    c.exec_ok(c.master(), "CREATE VIEW user_names AS SELECT username FROM users ORDER BY username");
    c.exec_ok(c.master(), "ALTER TABLE users ADD COLUMN age INTEGER DEFAULT 7");
    c.exec_ok(c.master(), "CREATE TABLE short_lived (x); DROP TABLE short_lived");
    c.wait_converged();

    json::array schema = c.check_identical(kSchemaQuery);
    CHECK(has_object(schema, "table", "users"));
    CHECK(has_object(schema, "table", "audit"));
    CHECK(has_object(schema, "index", "users_email"));
    CHECK(has_object(schema, "trigger", "users_audit"));
    CHECK(has_object(schema, "view", "user_names"));
    CHECK_FALSE(has_object(schema, "table", "short_lived"));

    // The replicated schema works on every node: writes through replicas fire the
    // trigger, the added column has its default, the view reads.
    c.exec_ok(c.replica(1), "INSERT INTO users(username, email) VALUES (?, ?)",
              json::array{"alice", "a@x"});
    c.exec_ok(c.replica(2), "INSERT INTO users(username, email) VALUES (?, ?)",
              json::array{"bob", "b@x"});
    c.wait_converged();
    json::array users = c.check_identical("SELECT id, username, email, age FROM users ORDER BY id");
    REQUIRE(users.size() == 2);
    CHECK(users[0].as_array()[3] == json::value(7));
    json::array audit = c.check_identical("SELECT id, who FROM audit ORDER BY id");
    REQUIRE(audit.size() == 2);
    CHECK(audit[0].as_array()[1] == json::value("alice"));
    CHECK(audit[1].as_array()[1] == json::value("bob"));
    c.check_identical("SELECT * FROM user_names");
    c.check_same_checksums();
}

TEST_CASE("DDL sent to a replica is refused with 403 naming the master", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)");
    c.wait_converged();
    json::array schema_before = c.rows(c.master(), kSchemaQuery);

    const std::vector<std::string> statements = {
        "CREATE TABLE t2 (y)",
        "  /* x */ create index t_x on t(x)",
        "create unique index if not exists t_x2 on t(x)",
        "DROP TABLE t",
        "ALTER TABLE t ADD COLUMN z",
        "ALTER TABLE t RENAME TO t_renamed",
        "CREATE VIEW v AS SELECT * FROM t",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 0; END",
        // The DDL is the second statement: the whole request is refused, the insert too.
        "INSERT INTO t(x) VALUES (1); CREATE TABLE t3 (y)",
    };
    for (int id = 1; id <= c.replica_count(); ++id) {
        for (const auto& sql : statements) {
            Response r = c.exec(c.replica(id), sql);
            INFO("replica " << id << ": " << sql << " -> " << r.describe());
            CHECK(r.status == 403);
            CHECK_FALSE(r.ok());
            CHECK(r.error().find(c.master().url()) != std::string::npos);
        }
        // A batch that hides DDL among writes is refused as a whole.
        json::object batch{
            {"command", "exec"},
            {"batch", json::array{json::object{{"query", "INSERT INTO t(x) VALUES (2)"}},
                                  json::object{{"query", " create index t_x3 on t(x)"}}}}};
        NodeClient client(c.replica(id).url());
        Response r = client.post(batch);
        INFO("replica " << id << " batch -> " << r.describe());
        CHECK(r.status == 403);
        CHECK(r.error().find(c.master().url()) != std::string::npos);
    }

    // Nothing changed anywhere: no schema change, no half-applied insert.
    c.wait_converged();
    json::array schema_after = c.check_identical(kSchemaQuery);
    CHECK(json::value(schema_after) == json::value(schema_before));
    json::array count = c.check_identical("SELECT count(*) FROM t");
    CHECK(count.at(0).as_array().at(0) == json::value(0));
}

TEST_CASE("inserts through every node from concurrent clients leave identical rows on all nodes",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(),
              "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, client TEXT NOT NULL, "
              "seq INTEGER NOT NULL, note TEXT, UNIQUE(client, seq))");
    c.wait_converged();

    constexpr int kClientsPerNode = 2;
    constexpr int kWritesPerClient = 25;
    std::vector<std::string> urls;
    for (Node* node : c.nodes()) urls.push_back(node->url());

    std::mutex errors_mutex;
    std::vector<std::string> errors;
    std::atomic<int64_t> max_index{0};
    std::vector<std::thread> threads;
    for (std::size_t n = 0; n < urls.size(); ++n) {
        for (int k = 0; k < kClientsPerNode; ++k) {
            threads.emplace_back([&, n, k] {
                const std::string client_name =
                    "node" + std::to_string(n) + "-c" + std::to_string(k);
                try {
                    NodeClient client(urls[n]);
                    for (int seq = 0; seq < kWritesPerClient; ++seq) {
                        Response r;
                        if (seq % 5 == 4) {
                            // Every fifth write is a two-statement batch: one entry, two rows.
                            json::object body{
                                {"command", "exec"},
                                {"batch",
                                 json::array{
                                     json::object{
                                         {"query",
                                          "INSERT INTO events(client, seq, note) VALUES (?, ?, ?)"},
                                         {"params", json::array{client_name, seq, "batch-a"}}},
                                     json::object{
                                         {"query",
                                          "INSERT INTO events(client, seq, note) VALUES (?, ?, ?)"},
                                         {"params",
                                          json::array{client_name, 1000 + seq, "batch-b"}}}}}};
                            r = client.post(body);
                        } else {
                            r = client.exec(
                                "INSERT INTO events(client, seq, note) VALUES (?, ?, ?)",
                                json::array{client_name, seq, "single"});
                        }
                        if (!r.ok()) {
                            std::lock_guard lock(errors_mutex);
                            errors.push_back(client_name + " seq " + std::to_string(seq) + ": " +
                                             r.describe());
                            continue;
                        }
                        int64_t idx = r.index();
                        int64_t prev = max_index.load();
                        while (idx > prev && !max_index.compare_exchange_weak(prev, idx)) {
                        }
                    }
                } catch (const std::exception& e) {
                    std::lock_guard lock(errors_mutex);
                    errors.push_back(client_name + ": " + e.what());
                }
            });
        }
    }
    for (auto& t : threads) t.join();

    INFO("first errors: " << (errors.empty() ? std::string("none") : errors.front()));
    CHECK(errors.empty());
    c.wait_all_applied(max_index.load());
    c.wait_converged();

    const int expected_rows =
        static_cast<int>(urls.size()) * kClientsPerNode * (kWritesPerClient + kWritesPerClient / 5);
    json::array all = c.check_identical("SELECT id, client, seq, note FROM events ORDER BY id");
    CHECK(all.size() == static_cast<std::size_t>(expected_rows));
    // Ids are dense: no entry was applied twice or skipped.
    json::array stats = c.check_identical(
        "SELECT count(*), count(DISTINCT client || '/' || seq), min(id), max(id) FROM events");
    CHECK(stats.at(0) == json::value(json::array{expected_rows, expected_rows, 1, expected_rows}));
    c.check_same_checksums();
}

TEST_CASE("nondeterministic functions replay identically on every node", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(),
              "CREATE TABLE nd (id INTEGER PRIMARY KEY, r INTEGER, b BLOB, dt TEXT, jd REAL, "
              "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, src TEXT)");
    const std::string insert =
        "INSERT INTO nd(r, b, dt, jd, src) VALUES (random(), randomblob(8), datetime('now'), "
        "julianday('now'), ?)";
    // Replica 1 is paused while the master runs these entries and replays them more than a
    // second later: a node that evaluated 'now' itself would get a different time.
    c.replica(1).stop();
    for (int i = 0; i < 3; ++i) {
        c.exec_ok(c.master(), insert, json::array{"master"});
        c.exec_ok(c.replica(2), insert, json::array{"replica_2"});
    }
    // Many random values in one statement, one multi-statement request and an UPDATE.
    c.exec_ok(c.replica(2),
              "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50) "
              "INSERT INTO nd(r, b, dt, jd, src) SELECT random(), randomblob(8), "
              "datetime('now', '+' || x || ' seconds'), julianday('now'), 'cte' FROM n");
    c.exec_ok(c.replica(2),
              "INSERT INTO nd(r, src) VALUES (random(), 'multi'); "
              "UPDATE nd SET b = randomblob(8), jd = julianday('now') WHERE src = 'multi'");
    c.exec_ok(c.master(), "UPDATE nd SET r = abs(random() % 1000000) WHERE id % 7 = 0");
    std::this_thread::sleep_for(1100ms);  // not a timing assertion: it moves the clock on
    c.replica(1).resume();
    for (int i = 0; i < 3; ++i) c.exec_ok(c.replica(1), insert, json::array{"replica_1"});
    c.wait_converged();

    json::array rows =
        c.check_identical("SELECT id, r, hex(b), dt, jd, created_at, src FROM nd ORDER BY id");
    REQUIRE(rows.size() == 3 * c.nodes().size() + 50 + 1);
    c.check_same_checksums();

    // Sanity: the values really are random and the frozen clock is the master's real time
    // (not a constant), else identical results would prove nothing.
    json::array distinct =
        c.rows(c.master(), "SELECT count(DISTINCT r), count(DISTINCT b) FROM nd");
    CHECK(distinct.at(0).as_array().at(0).as_int64() > 40);
    CHECK(distinct.at(0).as_array().at(1).as_int64() > 40);
    json::array drift =
        c.rows(c.master(), "SELECT max(abs(strftime('%s', created_at) - ?)) FROM nd",
               json::array{static_cast<int64_t>(std::time(nullptr))});
    INFO("largest distance of created_at from the test's clock, seconds: " << drift);
    CHECK(drift.at(0).as_array().at(0).to_number<double>() < 3600);
}

TEST_CASE("a write through a replica is readable on that replica right after its 200",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE ryw (id INTEGER PRIMARY KEY, v TEXT)");
    for (int i = 0; i < 20; ++i) {
        Node& node = c.replica(1 + i % c.replica_count());
        // ack=master answers the client before any replica acks; the receiving replica must
        // still have applied the entry itself before it answers.
        json::object extra;
        if (i % 2 == 0) extra["ack"] = "master";
        std::string value = "v" + std::to_string(i) + "-" + random_hex(6);
        Response w = c.exec(node, "INSERT INTO ryw(v) VALUES (?)", json::array{value}, extra);
        INFO(node.name() << " write " << i << ": " << w.describe());
        REQUIRE(w.ok());
        int64_t id = w.int_field("last_insert_id");
        Response r = c.query(node, "SELECT v FROM ryw WHERE id = ?", json::array{id});
        INFO("read: " << r.describe());
        REQUIRE(r.ok());
        CHECK(json::value(r.rows()) == one_row(json::string(value)));
        CHECK(r.index() >= w.index());
    }
}

TEST_CASE("a read with min_index on a replica sees the write at that index", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE mi (id INTEGER PRIMARY KEY, v INTEGER)");
    for (int i = 0; i < 20; ++i) {
        Response w = c.exec(c.master(), "INSERT INTO mi(v) VALUES (?)", json::array{i},
                            json::object{{"ack", "master"}});
        INFO("write: " << w.describe());
        REQUIRE(w.ok());
        Node& node = c.replica(1 + i % c.replica_count());
        Response r = c.query(node, "SELECT v FROM mi WHERE id = ?",
                             json::array{w.int_field("last_insert_id")},
                             json::object{{"min_index", w.index()}});
        INFO(node.name() << " read: " << r.describe());
        REQUIRE(r.ok());
        CHECK(json::value(r.rows()) == one_row(i));
        CHECK(r.index() >= w.index());
    }

    SECTION("level strong is served by the master") {
        Response w = c.exec(c.master(), "INSERT INTO mi(v) VALUES (100)", nullptr,
                            json::object{{"ack", "master"}});
        REQUIRE(w.ok());
        Response r =
            c.query(c.replica(1), "SELECT v FROM mi WHERE id = ?",
                    json::array{w.int_field("last_insert_id")}, json::object{{"level", "strong"}});
        INFO(r.describe());
        REQUIRE(r.ok());
        CHECK(json::value(r.rows()) == one_row(100));
    }

    SECTION("a min_index that never comes is a bounded wait ending in 504") {
        int64_t far = c.master_index() + 1000000;
        NodeClient client(c.replica(1).url());
        Response r = client.query("SELECT count(*) FROM mi", nullptr,
                                  json::object{{"min_index", far}}, 120s);
        INFO(r.describe());
        CHECK(r.status == 504);
        CHECK_FALSE(r.ok());
        CHECK_FALSE(r.error().empty());
    }
}

// Every read answers with the index its snapshot holds. Reads take it from the writer's
// published index when no commit can have happened meanwhile (PublishedIndex), from the
// log otherwise; either way it must match the rows the read saw, exactly, on every node,
// while writes commit underneath.
TEST_CASE("every read's index is the index of the rows it saw, under concurrent writes",
          "[integration]") {
    Cluster c;
    const int64_t base = c.exec_ok(c.master(), "CREATE TABLE counted (id INTEGER PRIMARY KEY)");
    c.wait_all_applied(base);  // a quorum ack leaves one replica free to be behind
    // From here on every entry inserts exactly one row: rows = index - base, always.
    constexpr int kWriters = 4;
    constexpr int kWritesPerWriter = 300;
    std::atomic<int> writers_left{kWriters};
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    auto record = [&](std::string e) {
        std::lock_guard lock(errors_mutex);
        errors.push_back(std::move(e));
    };

    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w)
        threads.emplace_back([&, url = c.master().url()] {
            try {
                NodeClient client(url);
                for (int i = 0; i < kWritesPerWriter; ++i) {
                    Response r = client.exec("INSERT INTO counted DEFAULT VALUES", nullptr,
                                             json::object{{"ack", "master"}});
                    if (!r.ok()) record("write: " + r.describe());
                }
            } catch (const std::exception& e) {
                record(std::string("writer: ") + e.what());
            }
            --writers_left;
        });
    std::atomic<int64_t> reads{0};
    for (Node* node : c.nodes())
        threads.emplace_back([&, url = node->url(), name = node->name()] {
            try {
                NodeClient client(url);
                while (writers_left > 0) {
                    Response r = client.query("SELECT count(*) FROM counted");
                    if (!r.ok()) {
                        record(name + " read: " + r.describe());
                        continue;
                    }
                    int64_t rows = r.rows().at(0).as_array().at(0).as_int64();
                    if (rows != r.index() - base)
                        record(name + ": " + std::to_string(rows) + " rows at index " +
                               std::to_string(r.index()) + " (expected " +
                               std::to_string(r.index() - base) + ")");
                    ++reads;
                }
            } catch (const std::exception& e) {
                record(name + ": " + e.what());
            }
        });
    for (auto& t : threads) t.join();

    INFO(errors.size() << " error(s), the first: "
                       << (errors.empty() ? std::string("none") : errors.front()));
    CHECK(errors.empty());
    CHECK(reads > 100);
    CHECK(c.master_index() == base + kWriters * kWritesPerWriter);
}
