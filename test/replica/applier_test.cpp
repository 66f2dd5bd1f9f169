// The replica's Applier against real SQLite files, fed entries built the way the master's
// sequencer builds them (run the write on a master database with an EffectRecorder, take
// its effects as the body, chain the hash).

#include <algorithm>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "../shared/test_support.hpp"
#include "replica/applier.hpp"
#include "shared/effects.hpp"
#include "shared/log_entry.hpp"
#include "shared/replication_log.hpp"

using namespace sqlrep;
using namespace sqlrep::test;
using sqlrep::replica::Applier;

namespace {

// A stand-in master: its own database file, where each write runs and is recorded before
// it becomes an entry.
struct Master {
    RecordingMaster recording;
    LogPosition last;
    int64_t term = 1;
    int64_t clock_ms = 1700000000000;

    explicit Master(const std::string& path) : recording(path) {}

    Connection& conn() { return recording.conn(); }

    Entry write(const std::vector<SqlStatement>& statements) {
        Entry e;
        e.index = last.index + 1;
        e.term = term;
        e.time_ms = clock_ms += 1000;
        e.body = recording.write(statements);
        e.hash = chain_hash(last.hash, e);
        last = {e.index, e.term, e.hash};
        return e;
    }
    Entry write(const std::string& sql, json::value params = nullptr) {
        return write(std::vector<SqlStatement>{{sql, std::move(params)}});
    }
};

// Keep every entry of the replica's own log: these tests read it back.
constexpr int64_t kRetainAll = 1000000;

// Re-chains `e` after a field was edited, as a master would have hashed it.
Entry rehash(Entry e, const Hash& previous) {
    e.hash = chain_hash(previous, e);
    return e;
}

struct Cluster {
    TempDir dir;
    Master master{dir.file("master.sqlite")};
    std::string replica_path = dir.file("replica.sqlite");
    std::unique_ptr<Applier> applier =
        std::make_unique<Applier>(open_writer(replica_path), kRetainAll, scratch_published());
    std::unique_ptr<Connection> replica_reader;

    Connection& replica() {
        if (!replica_reader) replica_reader = open_reader(replica_path);
        return *replica_reader;
    }
    json::array rows(Connection& c, const std::string& sql) { return rows_of(query(c, sql)); }
    int64_t table_count() {
        return scalar(replica(),
                      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 't'")
            .as_int64();
    }
    std::vector<Entry> replica_log() { return read_log_entries(replica(), 1, 1000, 1 << 20); }
};

}  // namespace

TEST_CASE("applier starts at position 0 on an empty database", "[replica]") {
    Cluster c;
    CHECK(c.applier->position().index == 0);
    CHECK(c.applier->position().hash == Hash{});
    CHECK(c.applier->term() == 0);
}

TEST_CASE("applier applies a batch and advances to its last entry", "[replica]") {
    Cluster c;
    std::vector<Entry> batch{
        c.master.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)"),
        c.master.write("INSERT INTO t(v) VALUES (?), (?)", json::array{"a", 2.5}),
        c.master.write("UPDATE t SET v = v || '!' WHERE id = 1")};
    c.master.term = 2;
    batch.push_back(c.master.write("INSERT INTO t(v) VALUES (:x)", json::object{{"x", 3}}));
    c.applier->apply(batch);

    CHECK(c.applier->position().index == 4);
    CHECK(c.applier->position().term == 2);
    CHECK(c.applier->position().hash == batch.back().hash);
    CHECK(c.applier->term() == 2);
    CHECK(c.rows(c.replica(), "SELECT * FROM t ORDER BY id") ==
          c.rows(c.master.conn(), "SELECT * FROM t ORDER BY id"));
    auto log = c.replica_log();
    REQUIRE(log.size() == 4);
    for (size_t i = 0; i < log.size(); ++i) {
        CHECK(log[i].index == batch[i].index);
        CHECK(log[i].hash == batch[i].hash);
        CHECK(log[i].body == batch[i].body);
    }
}

TEST_CASE("applier continues across batches", "[replica]") {
    Cluster c;
    c.applier->apply({c.master.write("CREATE TABLE t(v)")});
    c.applier->apply({c.master.write("INSERT INTO t VALUES (1)")});
    c.applier->apply(
        {c.master.write("INSERT INTO t VALUES (2)"), c.master.write("INSERT INTO t VALUES (3)")});
    CHECK(c.applier->position().index == 4);
    CHECK(scalar(c.replica(), "SELECT sum(v) FROM t").as_int64() == 6);
}

TEST_CASE("applier gives the replica the master's random() and now() values", "[replica]") {
    Cluster c;
    c.applier->apply({c.master.write("CREATE TABLE t(r, b, d)"),
                      c.master.write("INSERT INTO t VALUES (random(), randomblob(12), "
                                     "datetime('now')), (random(), randomblob(3), "
                                     "strftime('%f', 'now'))")});
    CHECK(c.rows(c.replica(), "SELECT rowid, * FROM t ORDER BY rowid") ==
          c.rows(c.master.conn(), "SELECT rowid, * FROM t ORDER BY rowid"));
}

TEST_CASE("applier ends with the master's content, bit for bit", "[replica]") {
    Cluster c;
    c.applier->apply({c.master.write("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, v);"
                                     "CREATE TABLE w(k PRIMARY KEY, v) WITHOUT ROWID"),
                      c.master.write("INSERT INTO t(v) VALUES (-0.0), (x'00ff'), (''), (?)",
                                     json::array{4.9e-324}),
                      c.master.write("INSERT INTO w SELECT v, id FROM t WHERE id > 1"),
                      c.master.write("DELETE FROM t WHERE id = 2; UPDATE w SET v = v * 2")});
    CHECK(database_content(c.replica()) == database_content(c.master.conn()));
}

TEST_CASE("applier stores the same real value the master bound", "[replica]") {
    // 933.0544305299615 (shortest form): Boost.JSON 1.81's default parser reads its
    // serialized form back one ulp off. Any real must survive the entry body exactly.
    uint64_t bits = 0x408D286F794610B5ULL;
    double value;
    std::memcpy(&value, &bits, sizeof value);
    Cluster c;
    c.applier->apply({c.master.write("CREATE TABLE t(v REAL)"),
                      c.master.write("INSERT INTO t VALUES (?)", json::array{value})});
    double on_master = scalar(c.master.conn(), "SELECT v FROM t").as_double();
    double on_replica = scalar(c.replica(), "SELECT v FROM t").as_double();
    CHECK(on_master == value);
    CHECK(on_replica == on_master);
}

TEST_CASE("applier rejects a gap with conflict and applies nothing", "[replica]") {
    Cluster c;
    c.applier->apply({c.master.write("CREATE TABLE t(v)")});
    Entry e2 = c.master.write("INSERT INTO t VALUES (2)");
    Entry e3 = c.master.write("INSERT INTO t VALUES (3)");
    REQUIRE_THROWS_KIND(c.applier->apply({e3}), ErrorKind::conflict);
    CHECK(c.applier->position().index == 1);
    CHECK(scalar(c.replica(), "SELECT count(*) FROM t").as_int64() == 0);
    CHECK(c.replica_log().size() == 1);
    // The right entry still applies afterwards.
    c.applier->apply({e2, e3});
    CHECK(c.applier->position().index == 3);
}

TEST_CASE("applier rejects a gap inside a batch before applying any of it", "[replica]") {
    Cluster c;
    Entry e1 = c.master.write("CREATE TABLE t(v)");
    Entry e2 = c.master.write("INSERT INTO t VALUES (2)");
    Entry e3 = c.master.write("INSERT INTO t VALUES (3)");
    REQUIRE_THROWS_KIND(c.applier->apply({e1, e3}), ErrorKind::conflict);
    CHECK(c.applier->position().index == 0);
    CHECK(c.table_count() == 0);
    CHECK(c.replica_log().empty());
    (void)e2;
}

TEST_CASE("applier rejects a repeated entry with conflict", "[replica]") {
    Cluster c;
    Entry e1 = c.master.write("CREATE TABLE t(v)");
    Entry e2 = c.master.write("INSERT INTO t VALUES (2)");
    c.applier->apply({e1, e2});
    REQUIRE_THROWS_KIND(c.applier->apply({e2}), ErrorKind::conflict);
    REQUIRE_THROWS_KIND(c.applier->apply({e1}), ErrorKind::conflict);
    CHECK(c.applier->position().index == 2);
    CHECK(scalar(c.replica(), "SELECT count(*) FROM t").as_int64() == 1);
}

TEST_CASE("applier rejects an entry whose hash does not chain as diverged", "[replica]") {
    Cluster c;
    Entry e1 = c.master.write("CREATE TABLE t(v)");
    Entry e2 = c.master.write("INSERT INTO t VALUES (2)");
    SECTION("a flipped hash bit") { e2.hash[0] ^= 1; }
    SECTION("a body edited after hashing") {
        EffectWriter other;
        other.schema("DROP TABLE t");
        e2.body = other.take();
    }
    SECTION("a hash chained from another history") {
        Hash other{};
        other[5] = 9;
        e2 = rehash(e2, other);
    }
    REQUIRE_THROWS_KIND(c.applier->apply({e1, e2}), ErrorKind::diverged);
    CHECK(c.applier->position().index == 0);
    CHECK(c.table_count() == 0);
    CHECK(c.replica_log().empty());
}

TEST_CASE("applier rejects an entry with an older term as diverged", "[replica]") {
    Cluster c;
    c.master.term = 3;
    c.applier->apply({c.master.write("CREATE TABLE t(v)")});
    c.master.term = 2;
    Entry e2 = c.master.write("INSERT INTO t VALUES (1)");
    REQUIRE_THROWS_KIND(c.applier->apply({e2}), ErrorKind::diverged);
    CHECK(c.applier->position().index == 1);
}

TEST_CASE("applier rolls back the whole batch when an entry fails here, as diverged", "[replica]") {
    Cluster c;
    // The master has a table the replica never saw (created outside the log).
    run(c.master.conn(), "CREATE TABLE only_on_master(v)");
    Entry e1 = c.master.write("CREATE TABLE t(v)");
    Entry e2 = c.master.write("INSERT INTO t VALUES (1)");
    Entry e3 = c.master.write("INSERT INTO only_on_master VALUES (1)");
    REQUIRE_THROWS_KIND(c.applier->apply({e1, e2, e3}), ErrorKind::diverged);
    CHECK(c.applier->position().index == 0);
    CHECK(c.table_count() == 0);
    CHECK(c.replica_log().empty());
    // Nothing half-done is left behind: the first two still apply on their own.
    c.applier->apply({e1, e2});
    CHECK(c.applier->position().index == 2);
    CHECK(scalar(c.replica(), "SELECT count(*) FROM t").as_int64() == 1);
}

TEST_CASE(
    "applier rejects an entry whose rows are not the replica's as diverged, and all "
    "of its batch",
    "[replica]") {
    Cluster c;
    c.applier->apply({c.master.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)"),
                      c.master.write("INSERT INTO t VALUES (1, 'a')")});
    {
        // A change behind sqlrep's back, through another connection.
        auto other = open_writer(c.replica_path);
        other->exec_internal("UPDATE t SET v = 'tampered'");
    }
    Entry e3 = c.master.write("INSERT INTO t VALUES (2, 'b')");
    Entry e4 = c.master.write("UPDATE t SET v = 'c' WHERE id = 1");
    auto thrown = thrown_by([&] { c.applier->apply({e3, e4}); });
    INFO(thrown.message);
    REQUIRE(thrown.thrown);
    CHECK(thrown.kind == ErrorKind::diverged);
    CHECK(thrown.message.find("entry 4") != std::string::npos);
    CHECK(c.applier->position().index == 2);
    CHECK(scalar(c.replica(), "SELECT count(*) FROM t").as_int64() == 1);
    CHECK(c.replica_log().size() == 2);
}

TEST_CASE("applier applies trigger effects without running the trigger again", "[replica]") {
    Cluster c;
    c.applier->apply(
        {c.master.write("CREATE TABLE t(v); CREATE TABLE audit(v); CREATE TRIGGER a AFTER "
                        "INSERT ON t BEGIN INSERT INTO audit VALUES (new.v); END"),
         c.master.write("INSERT INTO t VALUES (1), (2)")});
    CHECK(c.applier->position().index == 2);
    CHECK(scalar(c.replica(), "SELECT count(*) FROM audit").as_int64() == 2);
}

TEST_CASE("applier follows a schema change between the entries of one batch", "[replica]") {
    Cluster c;
    c.applier->apply(
        {c.master.write("CREATE TABLE t(a, b)"), c.master.write("INSERT INTO t VALUES (1, 2)")});
    // A schema change between two entries of one batch: the applier's statements for t
    // must follow it.
    c.applier->apply({c.master.write("ALTER TABLE t ADD COLUMN c"),
                      c.master.write("INSERT INTO t VALUES (3, 4, 5)"),
                      c.master.write("ALTER TABLE t RENAME TO u"),
                      c.master.write("UPDATE u SET c = a + b")});
    CHECK(database_content(c.replica()) == database_content(c.master.conn()));
}

TEST_CASE("applier reopened on the same file resumes at the applied position", "[replica]") {
    Cluster c;
    c.applier->apply(
        {c.master.write("CREATE TABLE t(v)"), c.master.write("INSERT INTO t VALUES (1)")});
    LogPosition before = c.applier->position();
    c.applier.reset();
    c.applier =
        std::make_unique<Applier>(open_writer(c.replica_path), kRetainAll, scratch_published());
    CHECK(c.applier->position().index == before.index);
    CHECK(c.applier->position().term == before.term);
    CHECK(c.applier->position().hash == before.hash);
    CHECK(c.applier->term() == before.term);
    c.applier->apply({c.master.write("INSERT INTO t VALUES (2)")});
    CHECK(c.applier->position().index == 3);
    CHECK(scalar(c.replica(), "SELECT count(*) FROM t").as_int64() == 2);
}

TEST_CASE("applier reopened after a rejected batch is still at the last good entry", "[replica]") {
    Cluster c;
    Entry e1 = c.master.write("CREATE TABLE t(v)");
    c.applier->apply({e1});
    Entry e2 = c.master.write("INSERT INTO t VALUES (1)");
    Entry bad = e2;
    bad.hash[1] ^= 0x10;
    REQUIRE_THROWS_KIND(c.applier->apply({bad}), ErrorKind::diverged);
    c.applier.reset();
    c.applier =
        std::make_unique<Applier>(open_writer(c.replica_path), kRetainAll, scratch_published());
    CHECK(c.applier->position().index == 1);
    CHECK(c.applier->position().hash == e1.hash);
}

TEST_CASE("applier reopened after trimming its own log resumes at the applied position",
          "[replica][slow]") {
    TempDir dir;
    Master master(dir.file("master.sqlite"));
    std::string path = dir.file("replica.sqlite");
    auto applier = std::make_unique<Applier>(open_writer(path), 5, scratch_published());
    std::vector<Entry> entries;
    master.conn().exec_internal("BEGIN");
    entries.push_back(master.write("CREATE TABLE t(v)"));
    for (int i = 2; i <= 1010; ++i)
        entries.push_back(master.write("INSERT INTO t VALUES (?)", json::array{i}));
    master.conn().exec_internal("COMMIT");
    for (size_t from = 0; from < entries.size(); from += 101)
        applier->apply(std::vector<Entry>(
            entries.begin() + static_cast<long>(from),
            entries.begin() + static_cast<long>(std::min(from + 101, entries.size()))));
    REQUIRE(applier->position().index == 1010);
    {
        auto reader = open_reader(path);
        CHECK(first_log_index(*reader) > 1);
        CHECK(scalar(*reader, "SELECT count(*) FROM t").as_int64() == 1009);
    }
    applier.reset();
    applier = std::make_unique<Applier>(open_writer(path), 5, scratch_published());
    CHECK(applier->position().index == 1010);
    CHECK(applier->position().hash == entries.back().hash);
    Entry next = master.write("INSERT INTO t VALUES (0)");
    applier->apply({next});
    CHECK(applier->position().index == 1011);
}

TEST_CASE("applier applies the entries before a restore entry, then asks for a snapshot",
          "[replica]") {
    Cluster c;
    c.applier->apply({c.master.write("CREATE TABLE t(v)")});
    Entry before = c.master.write("INSERT INTO t VALUES (1)");
    Entry restore;
    restore.index = c.master.last.index + 1;
    restore.term = c.master.term;
    restore.time_ms = 1700000009000;
    EffectWriter body;
    body.restore("sqlite file, 1 table(s)");
    restore.body = body.take();
    restore.hash = chain_hash(c.master.last.hash, restore);
    c.master.last = {restore.index, restore.term, restore.hash};
    Entry after = c.master.write("INSERT INTO t VALUES (2)");

    int64_t needed_at = 0;
    try {
        c.applier->apply({before, restore, after});
    } catch (const sqlrep::replica::SnapshotNeeded& e) {
        needed_at = e.index();
    }
    CHECK(needed_at == restore.index);
    CHECK(c.applier->position().index == before.index);
    CHECK(scalar(c.replica(), "SELECT sum(v) FROM t").as_int64() == 1);

    // A restore entry that does not chain is divergence, not a snapshot request.
    Entry forged = restore;
    forged.hash[0] ^= 1;
    REQUIRE_THROWS_KIND(c.applier->apply({forged}), ErrorKind::diverged);
}

TEST_CASE("applier trims a log holding more bytes than one entry may", "[replica][slow]") {
    // Trimming deletes the oldest entries; their bodies are no client's effects and must
    // not count against what one entry may change (it once interrupted the trim, and the
    // replica then took its next entry for divergence).
    TempDir dir;
    Master master{dir.file("master.sqlite")};
    std::string path = dir.file("replica.sqlite");
    Applier applier(open_writer(path), /*log_retain=*/0, scratch_published());
    applier.apply({master.write("CREATE TABLE t(v BLOB)")});
    std::vector<Entry> batch;
    for (int i = 0; i < 1100; ++i) {
        batch.push_back(master.write("INSERT INTO t VALUES (zeroblob(70000))"));
        if (batch.size() == 50) {
            applier.apply(batch);
            batch.clear();
        }
    }
    applier.apply(batch);
    CHECK(applier.position().index == 1101);
    CHECK(applier.log_first_index() > 1000);
    auto reader = open_reader(path);
    CHECK(scalar(*reader, "SELECT count(*) FROM t").as_int64() == 1100);
}
