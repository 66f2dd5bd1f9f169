// Differential tests of issue #16, "Replicate effects, not statements": whatever a valid
// write computes on the master (rowids SQLite picks at random, connection state such as
// total_changes(), the master's time zone, foreign-key cascades, AUTOINCREMENT counters),
// every replica must end up with exactly the master's rows. Writes go through random nodes
// (replicas forward them); replicas run in another time zone than the master; then every
// node's full content (rowids and sqlite_sequence included) is compared with the master's.
//
// The master gets --foreign-keys when its binary knows the flag (checked in `master
// --help`); without it the cascade cases are skipped with a warning.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;

// POSIX TZ strings: glibc needs no tzdata for them. The replicas are 5:30 ahead of the
// master, so datetime('now','localtime') differs by node unless the master's value is
// what replicas store.
const char* kMasterTz = "TZ=UTC0";
const char* kReplicaTz = "TZ=IST-5:30";

// Whether this build's master accepts --foreign-keys (the flag of issue #16).
bool master_knows_foreign_keys() {
    static const bool known = [] {
        CommandRun run = run_command(binary_path("master") + " --help");
        return run.output.find("--foreign-keys") != std::string::npos;
    }();
    return known;
}

ClusterOptions differential_options() {
    ClusterOptions options;
    options.replicas = 2;
    options.master_env = {kMasterTz};
    options.replica_env = {kReplicaTz};
    if (master_knows_foreign_keys()) options.master_args = {"--foreign-keys"};
    return options;
}

void warn_without_foreign_keys() {
    if (!master_knows_foreign_keys())
        WARN(
            "master has no --foreign-keys flag yet: ON DELETE CASCADE is not enforced and "
            "the cascade cases are skipped");
}

std::string short_json(const json::value& v, std::size_t max = 300) {
    std::string s = json::serialize(v);
    if (s.size() > max) s = s.substr(0, max) + "...";
    return s;
}

// ---------------------------------------------------------------------------------------
// Waiting and comparing

// Waits until every node has applied `index`. Fails at once (instead of at the timeout)
// when a replica reports itself diverged: that is the divergence this file looks for.
void wait_applied(Cluster& c, int64_t index) {
    const auto deadline = Clock::now() + kApplyTimeout;
    while (true) {
        bool all = true;
        std::string states;
        for (Node* node : c.nodes()) {
            json::object s = c.status(*node);
            const auto* state = s.if_contains("state");
            if (state && state->is_string() && state->as_string() == "diverged")
                FAIL(node->name() + " diverged from the master: " + short_json(s, 600));
            const auto* applied = s.if_contains("applied_index");
            if (!applied || !applied->is_int64() || applied->as_int64() < index) all = false;
            states += "\n  " + node->name() + ": " + short_json(s);
        }
        if (all) return;
        if (Clock::now() >= deadline)
            FAIL("not every node applied index " << index << " in time:" << states);
        std::this_thread::sleep_for(20ms);
    }
}

// Runs a read on `node` once it has applied `index`; fails unless it succeeds. No write
// is in flight while the test compares, so every node answers at that same index.
Response read_at(Cluster& c, Node& node, const std::string& sql, int64_t index) {
    Response r = c.query(node, sql, nullptr, json::object{{"min_index", index}});
    if (!r.ok()) FAIL(node.name() << " query \"" << sql << "\" failed: " << r.describe());
    if (r.index() != index)
        FAIL(node.name() << " answered \"" << sql << "\" at index " << r.index() << ", expected "
                         << index);
    return r;
}

// One node's full content: table name -> rows, plus the schema and sqlite_sequence.
using Content = std::vector<std::pair<std::string, json::array>>;

// The statements that read every user table in a canonical order: `SELECT rowid, *` by
// rowid, or for a WITHOUT ROWID table `SELECT *` by its primary key. Built from the master.
std::vector<std::pair<std::string, std::string>> content_queries(Cluster& c, int64_t index) {
    std::vector<std::pair<std::string, std::string>> queries;
    queries.emplace_back("sqlite_schema",
                         "SELECT type, name, tbl_name, sql FROM sqlite_schema "
                         "WHERE name NOT LIKE '\\_%' ESCAPE '\\' "
                         "AND name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\' ORDER BY type, name");
    Response tables =
        read_at(c, c.master(),
                "SELECT name, instr(upper(sql), 'WITHOUT ROWID') > 0 FROM sqlite_schema "
                "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                "AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name",
                index);
    for (const auto& row : tables.rows()) {
        const std::string name(row.as_array().at(0).as_string());
        const bool without_rowid = row.as_array().at(1).as_int64() != 0;
        if (!without_rowid) {
            queries.emplace_back(name, "SELECT rowid, * FROM \"" + name + "\" ORDER BY rowid");
            continue;
        }
        Response pk = read_at(c, c.master(),
                              "SELECT group_concat('\"' || name || '\"', ', ') FROM "
                              "(SELECT name FROM pragma_table_info('" +
                                  name + "') WHERE pk > 0 ORDER BY pk)",
                              index);
        const json::value& cols = pk.rows().at(0).as_array().at(0);
        const std::string order = cols.is_string() ? std::string(cols.as_string()) : "1";
        queries.emplace_back(name, "SELECT * FROM \"" + name + "\" ORDER BY " + order);
    }
    Response seq = read_at(
        c, c.master(), "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'", index);
    if (seq.rows().at(0).as_array().at(0).as_int64() > 0)
        queries.emplace_back("sqlite_sequence", "SELECT * FROM sqlite_sequence ORDER BY name");
    return queries;
}

Content read_content(Cluster& c, Node& node,
                     const std::vector<std::pair<std::string, std::string>>& queries,
                     int64_t index) {
    Content content;
    for (const auto& [table, sql] : queries)
        content.emplace_back(table, read_at(c, node, sql, index).rows());
    return content;
}

// "" when equal; otherwise one line per table naming its first differing row.
std::string describe_differences(const std::string& node, const Content& master,
                                 const Content& got) {
    std::ostringstream out;
    for (std::size_t t = 0; t < master.size(); ++t) {
        const auto& [table, expected] = master[t];
        const json::array& rows = got.at(t).second;
        if (rows == expected) continue;
        out << "\n  " << table << ": master has " << expected.size() << " row(s), " << node << " "
            << rows.size();
        for (std::size_t i = 0; i < std::max(expected.size(), rows.size()); ++i) {
            if (i < expected.size() && i < rows.size() && rows[i] == expected[i]) continue;
            out << "; first difference at row " << i << ": master "
                << (i < expected.size() ? short_json(expected[i]) : "(none)") << ", " << node << " "
                << (i < rows.size() ? short_json(rows[i]) : "(none)");
            break;
        }
    }
    return out.str();
}

// Waits for `index` on every node, then checks every node's full content against the
// master's; on a difference, fails naming each table's first differing row. Also checks
// /checksum and that no replica had to resync (a resync heals a divergence it detected).
// `index` is the last write's; the master's own index is used when it is further on.
void check_identical_content(Cluster& c, int64_t index, const std::string& when) {
    index = std::max(index, c.master_index());
    INFO("comparison " << when << " at index " << index);
    wait_applied(c, index);
    const auto queries = content_queries(c, index);
    const Content expected = read_content(c, c.master(), queries, index);
    bool same = true;
    for (Node* node : c.nodes()) {
        if (node == &c.master()) continue;
        const std::string diff =
            describe_differences(node->name(), expected, read_content(c, *node, queries, index));
        if (!diff.empty()) {
            same = false;
            FAIL_CHECK(node->name() << " differs from the master:" << diff);
        }
        json::object s = c.status(*node);
        const auto* resyncs = s.if_contains("resyncs");
        if (resyncs && resyncs->is_int64() && resyncs->as_int64() != 0) {
            same = false;
            FAIL_CHECK(node->name()
                       << " resynced from a snapshot (it diverged): " << short_json(s, 600));
        }
    }
    REQUIRE(same);
    c.check_same_checksums();
}

// exec through `node`; fails unless it succeeds. Returns the entry's index.
int64_t exec_ok(Cluster& c, Node& node, const std::string& sql,
                const json::value& params = nullptr) {
    Response r = c.exec(node, sql, params);
    if (!r.ok()) FAIL(node.name() << " exec \"" << sql << "\" failed: " << r.describe());
    REQUIRE(r.index() > 0);
    return r.index();
}

json::object batch_body(std::vector<std::pair<std::string, json::value>> statements) {
    json::array batch;
    for (auto& [sql, params] : statements) {
        json::object item{{"query", sql}};
        if (!params.is_null()) item["params"] = std::move(params);
        batch.push_back(std::move(item));
    }
    return json::object{{"command", "exec"}, {"batch", std::move(batch)}};
}

// ---------------------------------------------------------------------------------------
// The schema every differential case starts from (created through the master).

const std::vector<std::string> kSchema = {
    // Parent and cascading child; the child's AUTOINCREMENT fills sqlite_sequence.
    "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, made TEXT)",
    "CREATE TABLE c (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "pid INTEGER REFERENCES p(id) ON DELETE CASCADE, note TEXT, n INTEGER)",
    // AUTOINCREMENT with a unique key: ON CONFLICT DO NOTHING bumps sqlite_sequence.
    "CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, n INTEGER, at TEXT)",
    "CREATE TABLE w (k TEXT PRIMARY KEY, v BLOB, n INTEGER) WITHOUT ROWID",
    "CREATE TABLE g (id INTEGER PRIMARY KEY, a INTEGER, b REAL, "
    "v INTEGER GENERATED ALWAYS AS (a * 2 + length(b)) VIRTUAL, "
    "s TEXT GENERATED ALWAYS AS (a || ':' || b) STORED)",
    // Implicit rowid; its largest rowid is the largest possible, so SQLite picks new rowids
    // at random.
    "CREATE TABLE big (x, y)",
    "INSERT INTO big(rowid, x, y) VALUES (9223372036854775807, 'max', total_changes())",
    "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT, op TEXT, rid INTEGER, "
    "at TEXT, tc INTEGER, r INTEGER)",
    "CREATE TRIGGER p_ins AFTER INSERT ON p BEGIN "
    "INSERT INTO audit(tbl, op, rid, at, tc, r) VALUES "
    "('p', 'ins', new.id, datetime('now', 'localtime'), total_changes(), random()); END",
    "CREATE TRIGGER c_del AFTER DELETE ON c BEGIN "
    "INSERT INTO audit(tbl, op, rid, at, tc, r) VALUES "
    "('c', 'del', old.id, datetime('now', 'localtime'), changes(), last_insert_rowid()); END",
    "CREATE TRIGGER g_upd AFTER UPDATE OF a ON g BEGIN "
    "UPDATE big SET y = coalesce(y, 0) + 1 WHERE rowid = 9223372036854775807; END",
};

int64_t create_schema(Cluster& c) {
    int64_t index = 0;
    for (const auto& sql : kSchema) index = exec_ok(c, c.master(), sql);
    return index;
}

// ---------------------------------------------------------------------------------------
// The seeded random mix.

class WriteMix {
  public:
    explicit WriteMix(uint64_t seed) : rng_(seed) {}

    int below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
    std::string name() { return "n" + std::to_string(below(40)); }
    double real() { return static_cast<double>(below(2000000) - 1000000) / 64.0 + 0.1; }
    json::value blob() {
        static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string s;
        const int quads = 1 + below(6);
        for (int i = 0; i < quads * 4; ++i) s += b64[below(64)];
        return json::object{{"blob", s}};
    }

    // One data write: SQL text and params, or a batch body.
    struct Write {
        Write(std::string sql_text, json::value bound) : sql(std::move(sql_text)), params(bound) {}
        explicit Write(json::object request) : body(std::move(request)) {}

        std::string sql;
        json::value params;
        json::object body;  // non-empty: post this instead (a batch)
    };

    Write next() {
        const std::string k = std::to_string(below(1000));
        switch (below(24)) {
            case 0:
                return {
                    "INSERT INTO p(name, score, made) VALUES (?, ?, "
                    "datetime('now', 'localtime'))",
                    json::array{name(), real()}};
            case 1:
                return {
                    "INSERT INTO p(name, score, made) VALUES (?, ?, 'upsert') "
                    "ON CONFLICT(name) DO UPDATE SET score = excluded.score + random() % 100, "
                    "made = datetime('now', 'localtime') || ' ' || total_changes()",
                    json::array{name(), real()}};
            case 2:
                return {"INSERT OR REPLACE INTO p(id, name, score) VALUES (?, ?, ?)",
                        json::array{1 + below(30), name(), real()}};
            case 3:
                return {
                    "UPDATE p SET score = score * 1.5 + (random() % 1000) / 7.0 "
                    "WHERE id % ? = 0",
                    json::array{2 + below(4)}};
            case 4:
                return {
                    "UPDATE OR REPLACE p SET name = ? WHERE id = "
                    "(SELECT id FROM p ORDER BY random() LIMIT 1)",
                    json::array{name()}};
            case 5:
                return {"DELETE FROM p WHERE id IN (SELECT id FROM p ORDER BY random() LIMIT ?)",
                        json::array{1 + below(2)}};
            case 6:
                return {
                    "INSERT INTO c(pid, note, n) SELECT id, ?, total_changes() FROM p "
                    "ORDER BY random() LIMIT ?",
                    json::array{"sel" + k, 1 + below(4)}};
            case 7:
                return {
                    "INSERT INTO c(pid, note, n) VALUES ((SELECT max(id) FROM p), "
                    "datetime('now', 'localtime'), changes())",
                    nullptr};
            case 8:
                return {"DELETE FROM c WHERE id % ? = 0", json::array{3 + below(5)}};
            case 9:
                return {
                    "INSERT INTO a(k, n, at) VALUES (?, last_insert_rowid(), "
                    "datetime('now', 'localtime'))",
                    json::array{"a" + k}};
            case 10:
                return {"INSERT INTO a(k, n) VALUES (?, changes()) ON CONFLICT DO NOTHING",
                        json::array{"a" + std::to_string(below(1000))}};
            case 11:
                return {
                    "INSERT INTO a(id, k, n) VALUES ((SELECT ifnull(max(id), 0) + ? FROM a), "
                    "?, total_changes()) ON CONFLICT DO NOTHING",
                    json::array{1 + below(1000), "x" + k}};
            case 12:
                return {
                    "INSERT INTO w(k, v, n) VALUES (?, randomblob(?), 1) "
                    "ON CONFLICT(k) DO UPDATE SET v = excluded.v, n = w.n + 1",
                    json::array{"w" + std::to_string(below(50)), 1 + below(16)}};
            case 13:
                return {"INSERT OR REPLACE INTO w(k, v, n) VALUES (?, ?, ?)",
                        json::array{"w" + std::to_string(below(50)), blob(), real()}};
            case 14:
                return {
                    "UPDATE w SET k = k || '.' || abs(random() % 10) WHERE k = "
                    "(SELECT k FROM w ORDER BY random() LIMIT 1)",
                    nullptr};
            case 15:
                return {"DELETE FROM w WHERE k < ?", json::array{"w" + std::to_string(below(20))}};
            case 16:
                return {"INSERT INTO g(a, b) VALUES (?, ?)", json::array{below(100), real()}};
            case 17:
                return {
                    "UPDATE OR REPLACE g SET id = id + ?, a = a + 1 WHERE id = "
                    "(SELECT id FROM g ORDER BY random() LIMIT 1)",
                    json::array{below(5)}};
            case 18:
                return {"UPDATE g SET b = b / 3.0, a = abs(random() % 50) WHERE id % 3 = ?",
                        json::array{below(3)}};
            case 19:
                return {"INSERT INTO big(x, y) VALUES (random(), total_changes())", nullptr};
            case 20:
                return {
                    "INSERT INTO big(x, y) SELECT randomblob(4), last_insert_rowid() "
                    "FROM g LIMIT 2",
                    nullptr};
            case 21:
                return {
                    "INSERT INTO p(name, score) VALUES ('m" + k +
                        "', 1.25) ON CONFLICT DO NOTHING; "
                        "UPDATE c SET n = last_insert_rowid() WHERE id = (SELECT max(id) FROM c); "
                        "DELETE FROM g WHERE id = (SELECT min(id) FROM g); "
                        "INSERT INTO big(x, y) VALUES (changes(), datetime('now', 'localtime'))",
                    nullptr};
            case 22:
                return Write(batch_body({
                    {"INSERT INTO a(k, n, at) VALUES (?, total_changes(), "
                     "datetime('now', 'localtime')) ON CONFLICT DO NOTHING",
                     json::array{"b" + k}},
                    {"UPDATE p SET score = ? WHERE id = (SELECT max(id) FROM p)",
                     json::array{real()}},
                    {"INSERT INTO w(k, v, n) VALUES (:k, randomblob(3), last_insert_rowid()) "
                     "ON CONFLICT DO NOTHING",
                     json::object{{":k", "bw" + k}}},
                }));
            default:
                return {
                    "REPLACE INTO c(id, pid, note, n) VALUES "
                    "((SELECT ifnull(max(id), 0) + 1 FROM c), (SELECT min(id) FROM p), ?, "
                    "changes())",
                    json::array{"rep" + k}};
        }
    }

  private:
    std::mt19937_64 rng_;
};

}  // namespace

// ---------------------------------------------------------------------------------------

TEST_CASE("replicas store the master's rowids and values: total_changes() and a random rowid",
          "[integration][differential]") {
    // The reviewer's reproduction on issue #16.
    Cluster c(differential_options());
    exec_ok(c, c.master(), "CREATE TABLE d(id INTEGER PRIMARY KEY, v)");
    exec_ok(c, c.master(), "INSERT INTO d(v) VALUES (total_changes())");
    exec_ok(c, c.replica(1), "INSERT INTO d(v) VALUES (total_changes())");
    exec_ok(c, c.master(), "INSERT INTO d VALUES (9223372036854775807, 0)");
    // Past the largest rowid SQLite picks a random one.
    exec_ok(c, c.replica(2), "INSERT INTO d(v) VALUES (total_changes())");
    const int64_t index = exec_ok(c, c.master(), "INSERT INTO d(v) VALUES (total_changes())");
    check_identical_content(c, index, "after the reproduction");
    const json::array rows = c.rows(c.master(), "SELECT id FROM d ORDER BY id");
    REQUIRE(rows.size() == 5);
    CHECK(rows.at(4).as_array().at(0) == json::value(INT64_MAX));
}

TEST_CASE("every kind of write leaves identical content on every node",
          "[integration][differential]") {
    warn_without_foreign_keys();
    Cluster c(differential_options());
    create_schema(c);
    Node& m = c.master();
    Node& r1 = c.replica(1);
    Node& r2 = c.replica(2);

    // Inserts, upserts, triggers, localtime, REAL values, blobs.
    exec_ok(c, r1,
            "INSERT INTO p(name, score, made) VALUES ('ann', 1.5, "
            "datetime('now', 'localtime')), ('bob', -0.1, datetime('now', 'localtime'))");
    exec_ok(c, r2,
            "INSERT INTO p(name, score) VALUES ('ann', 2.25) ON CONFLICT(name) DO UPDATE "
            "SET score = score + excluded.score, made = datetime('now', 'localtime')");
    exec_ok(c, m, "INSERT INTO c(pid, note, n) SELECT id, name, total_changes() FROM p");
    exec_ok(c, r1, "INSERT INTO c(pid, note, n) SELECT id, 'again', changes() FROM p");
    exec_ok(c, r2, "INSERT INTO w(k, v, n) VALUES ('k1', ?, 0.125), ('k2', randomblob(8), 2)",
            json::array{json::object{{"blob", "AAECAwQF/w=="}}});
    // INSERT OR REPLACE / UPDATE OR REPLACE (which deletes the row it collides with).
    exec_ok(c, r1, "INSERT OR REPLACE INTO p(id, name, score) VALUES (1, 'ann2', 3.75)");
    exec_ok(c, r2, "INSERT INTO p(name, score) VALUES ('cid', 9.5)");
    exec_ok(c, r1, "UPDATE OR REPLACE p SET name = 'bob' WHERE name = 'cid'");
    exec_ok(c, r2, "INSERT OR REPLACE INTO w(k, v, n) VALUES ('k1', randomblob(2), 3)");
    exec_ok(c, m, "UPDATE OR REPLACE w SET k = 'k2' WHERE k = 'k1'");
    // Generated columns (VIRTUAL and STORED) and an UPDATE that changes rowids.
    exec_ok(c, r1, "INSERT INTO g(a, b) VALUES (1, 0.5), (2, 1e100), (3, -2.75)");
    exec_ok(c, r2, "UPDATE g SET id = id + 10, a = a + 1 WHERE id >= 2");
    exec_ok(c, r1, "UPDATE OR REPLACE g SET id = 12 WHERE id = 1");
    // Rowids past the largest, last_insert_rowid(), AUTOINCREMENT.
    exec_ok(c, r2, "INSERT INTO big(x, y) VALUES (random(), last_insert_rowid())");
    exec_ok(c, r1, "INSERT INTO big(x, y) VALUES (randomblob(3), total_changes())");
    exec_ok(c, m,
            "INSERT INTO a(k, n, at) VALUES ('a1', last_insert_rowid(), "
            "datetime('now', 'localtime'))");
    exec_ok(c, r1, "INSERT INTO a(id, k) VALUES (1000, 'a2')");
    exec_ok(c, r2, "DELETE FROM a WHERE id = 1000");
    // ON CONFLICT DO NOTHING on an AUTOINCREMENT table bumps sqlite_sequence, no row.
    exec_ok(c, r1, "INSERT INTO a(k, n) VALUES ('a1', 5) ON CONFLICT DO NOTHING");
    exec_ok(c, r2, "INSERT INTO a(k, n) VALUES ('a1', 6) ON CONFLICT DO NOTHING");
    // A multi-statement exec mixing writes.
    exec_ok(c, r1,
            "INSERT INTO p(name, score) VALUES ('multi', 0.3); "
            "UPDATE c SET n = last_insert_rowid() WHERE pid = (SELECT max(id) FROM p); "
            "INSERT INTO big(x, y) VALUES (changes(), total_changes()); "
            "DELETE FROM w WHERE k = 'k2'");
    // A batch.
    {
        NodeClient client = c.client(r2);
        Response r = client.post(batch_body({
            {"INSERT INTO a(k, n, at) VALUES (?, total_changes(), datetime('now', 'localtime'))",
             json::array{"batch1"}},
            {"UPDATE p SET score = :s WHERE id = last_insert_rowid() % 3",
             json::object{{":s", 6.0625}}},
            {"INSERT INTO big(x, y) VALUES (last_insert_rowid(), randomblob(2))", nullptr},
        }));
        INFO(r.describe());
        REQUIRE(r.ok());
    }
    // Deletes with cascades (when enforced) and the trigger on the child.
    int64_t index = exec_ok(c, r2, "DELETE FROM p WHERE name = 'bob'");
    check_identical_content(c, index, "after the data writes");

    // Schema changes through the master: CREATE TABLE ... AS SELECT with random().
    exec_ok(c, m,
            "CREATE TABLE snap AS SELECT id, random() AS r, randomblob(4) AS b, "
            "datetime('now', 'localtime') AS at, score * 1.1 AS s FROM p");
    index = exec_ok(c, m, "CREATE TABLE snap2 AS SELECT total_changes() AS tc, changes() AS ch");
    check_identical_content(c, index, "after CREATE TABLE ... AS SELECT");

    if (master_knows_foreign_keys()) {
        // DROP TABLE of a parent: with foreign keys enforced it deletes every row first,
        // and the ON DELETE CASCADE children go with them.
        exec_ok(c, m, "CREATE TABLE fp (id INTEGER PRIMARY KEY, v)");
        exec_ok(c, m,
                "CREATE TABLE fc (id INTEGER PRIMARY KEY, "
                "pid INTEGER REFERENCES fp(id) ON DELETE CASCADE, v)");
        exec_ok(c, r1, "INSERT INTO fp(v) VALUES (random()), (random()), (random())");
        exec_ok(c, r2, "INSERT INTO fc(pid, v) SELECT id, total_changes() FROM fp");
        exec_ok(c, r1, "INSERT INTO fc(pid, v) VALUES (NULL, 'orphan')");
        exec_ok(c, m, "DELETE FROM fp WHERE id = 1");
        index = exec_ok(c, m, "DROP TABLE fp");
        check_identical_content(c, index, "after DROP TABLE of a cascading parent");
        const json::array left = c.rows(m, "SELECT v FROM fc");
        CHECK(left == json::array{json::array{"orphan"}});
    } else {
        SUCCEED("DROP TABLE with ON DELETE CASCADE skipped: no --foreign-keys");
    }
}

TEST_CASE("a seeded random mix of writes through random nodes leaves identical content",
          "[integration][differential]") {
    warn_without_foreign_keys();
    const uint64_t seed = GENERATE(as<uint64_t>{}, 1, 2, 3, 4, 5, 6);
    constexpr int kOperations = 300;
    constexpr int kCompareEvery = 50;
    INFO("seed " << seed);
    Cluster c(differential_options());
    create_schema(c);
    std::vector<Node*> nodes = c.nodes();

    WriteMix mix(seed);
    int64_t last_index = 0;
    int succeeded = 0;
    std::string rejected;  // a few 400s, for the record
    for (int op = 1; op <= kOperations; ++op) {
        Node& node = *nodes.at(static_cast<std::size_t>(mix.below(static_cast<int>(nodes.size()))));
        if (mix.below(40) == 0) {
            // Now and then a schema change through the master.
            const std::string t = "ctas" + std::to_string(op);
            exec_ok(c, c.master(),
                    "CREATE TABLE " + t +
                        " AS SELECT id, random() AS r, randomblob(2) AS b, "
                        "total_changes() AS tc, datetime('now', 'localtime') AS at FROM p");
            last_index =
                exec_ok(c, c.master(), "INSERT INTO " + t + " SELECT * FROM " + t + " WHERE r > 0");
            continue;
        }
        WriteMix::Write w = mix.next();
        Response r;
        if (!w.body.empty()) {
            NodeClient client = c.client(node);
            r = client.post(w.body);
        } else {
            r = c.exec(node, w.sql, w.params);
        }
        INFO("operation " << op << " through " << node.name() << ": "
                          << (w.body.empty() ? w.sql : short_json(w.body)));
        if (r.ok()) {
            ++succeeded;
            last_index = r.index();
        } else {
            // Constraint violations (foreign keys, uniqueness) are fine; anything else is not.
            INFO(r.describe());
            REQUIRE(r.status == 400);
            if (rejected.size() < 600) rejected += "\n  " + r.error();
        }
        if (op % kCompareEvery == 0 && last_index > 0)
            check_identical_content(c, last_index, "after operation " + std::to_string(op));
    }
    INFO("rejected writes:" << rejected);
    CHECK(succeeded > kOperations / 2);
    check_identical_content(c, c.master_index(), "at the end");
}
