// EffectRecorder and EffectApplier end to end, on two real SQLite files: writes run on a
// "master" connection that records them, and the bodies they become are applied to a
// "replica" connection, which must end with exactly the master's content (every table,
// SQLite's own and virtual tables' shadow tables included, values bit for bit).

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/effects.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

struct Pair : MasterReplicaPair {
    void check_same() {
        CHECK(database_content(replica.conn()) == database_content(master.conn()));
    }
    // Reads on the replica go through a connection of their own, as a replica's reads do:
    // FTS5 keeps its index structure cached per connection and sees the applier's writes
    // to its shadow tables only through another connection's commits.
    json::value on_replica(const std::string& sql) {
        return scalar(*open_reader(dir.file("replica.sqlite")), sql);
    }
    json::value on_master(const std::string& sql) { return scalar(master.conn(), sql); }
};

std::vector<EffectKind> kinds(const std::string& body) {
    std::vector<EffectKind> out;
    for (const Effect& e : decode_effects(body)) out.push_back(e.kind);
    return out;
}

bool has_kind(const std::string& body, EffectKind kind) {
    std::vector<EffectKind> k = kinds(body);
    return std::find(k.begin(), k.end(), kind) != k.end();
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<sqlrep::EffectKind> {
    static std::string convert(sqlrep::EffectKind kind) {
        return std::string(1, static_cast<char>(kind));
    }
};
}  // namespace Catch

TEST_CASE("a write becomes its row changes, not its statement", "[shared]") {
    Pair p;
    std::string create = p.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
    CHECK(kinds(create) == std::vector<EffectKind>{EffectKind::schema});
    std::string body = p.write(
        "INSERT INTO t(v) VALUES ('a'), ('b'); UPDATE t SET v = 'c' "
        "WHERE id = 1; DELETE FROM t WHERE id = 2");
    CHECK(kinds(body) == std::vector<EffectKind>{EffectKind::insert, EffectKind::insert,
                                                 EffectKind::update, EffectKind::remove});
    std::vector<Effect> effects = decode_effects(body);
    CHECK(effects[0].table == "t");
    CHECK(effects[0].new_rowid == 1);
    CHECK(effects[3].old_rowid == 2);
    p.check_same();
}

TEST_CASE("a write that changes nothing has an empty body", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(v)");
    CHECK(p.write("DELETE FROM t").empty());
    CHECK(p.write("SELECT 1").empty());
}

TEST_CASE("a failed write leaves no effects in the next body", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(v UNIQUE)");
    p.write("INSERT INTO t VALUES (1)");
    REQUIRE_THROWS_KIND(
        p.master.write(std::vector<SqlStatement>{{"INSERT INTO t VALUES (2)", nullptr},
                                                 {"INSERT INTO t VALUES (1)", nullptr}}),
        ErrorKind::bad_request);
    std::string body = p.write("INSERT INTO t VALUES (3)");
    std::vector<Effect> effects = decode_effects(body);
    REQUIRE(effects.size() == 1);
    CHECK(effects[0].new_values.at(0).integer == 3);
    p.check_same();
}

TEST_CASE("the replica gets the master's random(), randomblob() and change counters", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(a, b, c, d, e)");
    p.write(
        "INSERT INTO t VALUES (random(), randomblob(16), total_changes(), changes(), "
        "last_insert_rowid())");
    p.write(
        "INSERT INTO t SELECT random(), randomblob(3), total_changes(), changes(), "
        "last_insert_rowid() FROM t");
    p.write("UPDATE t SET a = random(), c = total_changes() WHERE rowid = 1");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM t").as_int64() == 2);
}

TEST_CASE("rows past the largest rowid keep the master's random rowids", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(v)");
    p.write("INSERT INTO t(rowid, v) VALUES (9223372036854775807, 'max')");
    p.write("INSERT INTO t(v) VALUES (1), (2), (3)");
    p.write("INSERT INTO t(v) SELECT v + 10 FROM t WHERE v < 10");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM t").as_int64() == 7);
}

TEST_CASE("INSERT OR REPLACE and UPDATE OR REPLACE replicate the rows they replace", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY, k UNIQUE, v)");
    p.write("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3), (4, 'd', 4)");
    SECTION("a REPLACE on the same rowid") {
        std::string body = p.write("INSERT OR REPLACE INTO t VALUES (1, 'a', 10)");
        CHECK(has_kind(body, EffectKind::insert));
    }
    SECTION("a REPLACE that deletes rows under two keys") {
        p.write("INSERT OR REPLACE INTO t VALUES (1, 'b', 11)");
        p.write("REPLACE INTO t(k, v) VALUES ('c', 12)");
    }
    SECTION("an UPDATE OR REPLACE") {
        p.write("UPDATE OR REPLACE t SET k = 'd' WHERE id = 3");
        p.write("UPDATE OR REPLACE t SET id = 1 WHERE id = 2");
    }
    p.check_same();
}

TEST_CASE("UPSERT DO UPDATE and DO NOTHING replicate sqlite_sequence on AUTOINCREMENT",
          "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, k UNIQUE, n)");
    std::string first = p.write("INSERT INTO t(k, n) VALUES ('a', 1), ('b', 1)");
    CHECK(has_kind(first, EffectKind::sequence));
    p.write("INSERT INTO t(k, n) VALUES ('a', 1) ON CONFLICT(k) DO UPDATE SET n = n + 1");
    auto seq = [&] { return internal_scalar(p.master.conn(), "SELECT seq FROM sqlite_sequence"); };
    json::value before = seq();
    std::string nothing = p.write("INSERT INTO t(k, n) VALUES ('b', 1) ON CONFLICT DO NOTHING");
    // Whether SQLite moved the sequence without a row or not, the replica follows.
    CHECK(has_kind(nothing, EffectKind::sequence) == (seq() != before));
    p.write("INSERT INTO t(k, n) VALUES ('c', 1)");
    p.write("DELETE FROM t WHERE k = 'c'");
    p.write("INSERT INTO t(k, n) VALUES ('d', 1)");  // a fresh id, never 'c''s
    p.check_same();
    CHECK(p.on_replica("SELECT n FROM t WHERE k = 'a'").as_int64() == 2);
}

TEST_CASE("sqlite_sequence travels only in entries that change it", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, v)");
    CHECK(has_kind(p.write("INSERT INTO t(v) VALUES (1)"), EffectKind::sequence));
    CHECK_FALSE(has_kind(p.write("UPDATE t SET v = 2"), EffectKind::sequence));
    CHECK_FALSE(has_kind(p.write("DELETE FROM t"), EffectKind::sequence));
    CHECK(has_kind(p.write("DROP TABLE t"), EffectKind::sequence));  // its row goes
    p.check_same();
}

TEST_CASE("an UPDATE that changes a rowid moves the row on the replica", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(v); CREATE TABLE k(id INTEGER PRIMARY KEY, v)");
    p.write("INSERT INTO t VALUES ('a'), ('b'); INSERT INTO k VALUES (1, 'x'), (2, 'y')");
    std::string body = p.write("UPDATE t SET rowid = rowid + 100");
    for (const Effect& e : decode_effects(body)) {
        CHECK(e.kind == EffectKind::update);
        CHECK(e.new_rowid == e.old_rowid + 100);
    }
    p.write("UPDATE k SET id = -id");
    p.check_same();
    CHECK(p.on_replica("SELECT group_concat(rowid) FROM t").as_string() == "101,102");
}

TEST_CASE("trigger effects replicate and the replica does not run the trigger again", "[shared]") {
    Pair p;
    p.write(
        "CREATE TABLE t(v); CREATE TABLE audit(v, r);"
        "CREATE TRIGGER a AFTER INSERT ON t BEGIN"
        " INSERT INTO audit VALUES (new.v, random()); END;"
        "CREATE TRIGGER u AFTER UPDATE ON t BEGIN"
        " UPDATE audit SET v = new.v WHERE v = old.v; END");
    p.write("INSERT INTO t VALUES (1), (2)");
    p.write("UPDATE t SET v = 3 WHERE v = 1");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM audit").as_int64() == 2);
    CHECK(p.on_replica("SELECT count(*) FROM audit WHERE v = 3").as_int64() == 1);
}

TEST_CASE("ON DELETE CASCADE on the master replicates the child rows it deletes", "[shared]") {
    Pair p;
    p.master.conn().exec_internal("PRAGMA foreign_keys = ON");
    p.write(
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE child(id INTEGER PRIMARY KEY,"
        " parent REFERENCES parent(id) ON DELETE CASCADE ON UPDATE SET NULL)");
    p.write(
        "INSERT INTO parent VALUES (1), (2), (3);"
        "INSERT INTO child VALUES (10, 1), (11, 1), (12, 2), (13, 3)");
    std::string body = p.write("DELETE FROM parent WHERE id = 1");
    CHECK(kinds(body).size() == 3);  // the parent and both children
    p.write("UPDATE parent SET id = 20 WHERE id = 2");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM child").as_int64() == 2);
    CHECK(p.on_replica("SELECT count(*) FROM child WHERE parent IS NULL").as_int64() == 1);
}

TEST_CASE("DROP TABLE of a parent replicates the cascade into its children", "[shared]") {
    Pair p;
    p.master.conn().exec_internal("PRAGMA foreign_keys = ON");
    p.write(
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE child(id INTEGER PRIMARY KEY,"
        " parent REFERENCES parent(id) ON DELETE CASCADE)");
    p.write("INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (10, 1), (11, 2)");
    p.write("CREATE TABLE unrelated(v); INSERT INTO unrelated VALUES (1)");
    std::string body = p.write("DROP TABLE parent");
    std::vector<EffectKind> k = kinds(body);
    REQUIRE_FALSE(k.empty());
    CHECK(k[0] == EffectKind::schema);
    CHECK(std::count(k.begin(), k.end(), EffectKind::remove) == 2);  // the children only
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM child").as_int64() == 0);
    CHECK(p.on_replica("SELECT count(*) FROM unrelated").as_int64() == 1);
}

TEST_CASE("a WITHOUT ROWID table with a composite key replicates by its key", "[shared]") {
    Pair p;
    p.write("CREATE TABLE w(a, b, v, PRIMARY KEY (b, a)) WITHOUT ROWID");
    p.write("INSERT INTO w VALUES (1, 'x', 1), (1, 'y', 2), (2, 'x', 3)");
    p.check_same();
    SECTION("a change of a non-key column") { p.write("UPDATE w SET v = v * 10 WHERE a = 1"); }
    SECTION("a change of a key column") { p.write("UPDATE w SET b = b || '!' WHERE v < 3"); }
    SECTION("a delete") { p.write("DELETE FROM w WHERE b = 'x'"); }
    SECTION("a REPLACE") { p.write("INSERT OR REPLACE INTO w VALUES (2, 'x', 30)"); }
    p.check_same();
}

TEST_CASE("generated columns replicate in rowid and WITHOUT ROWID tables", "[shared]") {
    Pair p;
    p.write(
        "CREATE TABLE g(id INTEGER PRIMARY KEY, a, v AS (a * 2) VIRTUAL,"
        " s AS (a || '!') STORED, b);"
        "CREATE TABLE gw(k PRIMARY KEY, v AS (a + 1) VIRTUAL, a,"
        " s AS (a * 3) STORED, b) WITHOUT ROWID");
    p.write(
        "INSERT INTO g(a, b) VALUES (1, 'one'), (2, 'two');"
        "INSERT INTO gw(k, a, b) VALUES ('x', 1, 'one'), ('y', 2, 'two')");
    p.write("UPDATE g SET a = a + 10 WHERE id = 1; UPDATE gw SET a = a + 10 WHERE k = 'x'");
    p.write("UPDATE g SET b = 'B'; UPDATE gw SET b = 'B'");
    p.write("DELETE FROM g WHERE id = 2; DELETE FROM gw WHERE k = 'y'");
    p.check_same();
    CHECK(p.on_replica("SELECT v || s FROM g").as_string() == "2211!");
    CHECK(p.on_replica("SELECT v || '/' || s FROM gw").as_string() == "12/33");
}

TEST_CASE("CREATE TABLE AS SELECT gives the replica the master's rows", "[shared]") {
    Pair p;
    p.write("CREATE TABLE src(v); INSERT INTO src VALUES (1), (2), (3)");
    std::string body =
        p.write("CREATE TABLE r AS SELECT random() AS x, randomblob(8) AS y, v FROM src");
    std::vector<Effect> effects = decode_effects(body);
    REQUIRE(effects.size() == 4);
    CHECK(effects[0].kind == EffectKind::schema);
    CHECK(effects[0].sql.find("random") == std::string_view::npos);  // no SELECT to re-run
    p.write("CREATE TABLE one AS SELECT random() AS r");
    p.write("CREATE TABLE none AS SELECT * FROM src WHERE 0");
    p.check_same();
}

TEST_CASE("FTS5 rows replicate through their shadow tables and match on the replica", "[shared]") {
    Pair p;
    p.write("CREATE VIRTUAL TABLE f USING fts5(title, body)");
    p.write("INSERT INTO f VALUES ('fox', 'the quick brown fox'), ('dog', 'a lazy dog')");
    p.write("INSERT INTO f VALUES ('cat', 'a cat and a fox')");
    p.check_same();
    CHECK(p.on_replica("SELECT group_concat(title) FROM (SELECT title FROM f WHERE f MATCH 'fox' "
                       "ORDER BY rowid)")
              .as_string() == "fox,cat");
    p.write("UPDATE f SET body = 'no animals' WHERE title = 'fox'");
    p.write("DELETE FROM f WHERE title = 'dog'");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM f WHERE f MATCH 'body:fox'").as_int64() == 1);
    CHECK(p.on_replica("SELECT count(*) FROM f WHERE f MATCH 'animals'").as_int64() == 1);
}

TEST_CASE("FTS4 rows replicate through their shadow tables and match on the replica", "[shared]") {
    Pair p;
    p.write("CREATE VIRTUAL TABLE f USING fts4(title, body)");
    p.write("INSERT INTO f VALUES ('fox', 'the quick brown fox'), ('dog', 'a lazy dog')");
    p.write("UPDATE f SET body = 'a fox too' WHERE title = 'dog'");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM f WHERE f MATCH 'fox'").as_int64() == 2);
    p.write("DELETE FROM f WHERE title = 'fox'");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM f WHERE f MATCH 'fox'").as_int64() == 1);
}

TEST_CASE("a table with a column named rowid replicates through oid", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(rowid TEXT, v); CREATE TABLE u(ROWID, OID, v)");
    p.write("INSERT INTO t VALUES ('r1', 1), ('r2', 2); INSERT INTO u VALUES (7, 8, 9)");
    p.write("UPDATE t SET rowid = 'r3', v = 3 WHERE v = 1; UPDATE u SET oid = 0");
    p.write("DELETE FROM t WHERE v = 2");
    p.check_same();
    CHECK(p.on_replica("SELECT rowid || v FROM t").as_string() == "r33");
}

TEST_CASE("the master refuses a table whose columns hide rowid, oid and _rowid_", "[shared]") {
    Pair p;
    REQUIRE_THROWS_KIND(p.master.write("CREATE TABLE h(rowid, oid, _rowid_)"),
                        ErrorKind::bad_request);
    CHECK(p.on_master("SELECT count(*) FROM sqlite_schema WHERE name = 'h'").as_int64() == 0);
    p.write("CREATE TABLE h(ROWID, Oid, v)");
    REQUIRE_THROWS_KIND(p.master.write("ALTER TABLE h ADD COLUMN _ROWID_"), ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(p.master.write("ALTER TABLE h RENAME COLUMN v TO _rowid_"),
                        ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(p.master.write("CREATE TABLE s AS SELECT 1 AS rowid, 2 AS oid, "
                                       "3 AS _rowid_"),
                        ErrorKind::bad_request);
    p.write("CREATE TABLE w(rowid PRIMARY KEY, oid, _rowid_) WITHOUT ROWID");  // no rowid
    p.write("INSERT INTO w VALUES (1, 2, 3)");
    p.check_same();
}

TEST_CASE("ANALYZE replicates sqlite_stat1", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(a, b); CREATE INDEX ta ON t(a)");
    p.write(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)"
        " INSERT INTO t SELECT i % 7, i FROM n");
    std::string body = p.write("ANALYZE");
    CHECK(kinds(body) == std::vector<EffectKind>{EffectKind::schema});
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM sqlite_stat1").as_int64() > 0);
}

TEST_CASE("schema statements replicate as text: indexes, views, triggers", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(a, b, c); INSERT INTO t VALUES (1, 2, 3), (4, 5, 6)");
    p.write(
        "CREATE UNIQUE INDEX tb ON t(b); CREATE VIEW tv AS SELECT a + b AS s FROM t;"
        "CREATE TRIGGER tr AFTER DELETE ON t BEGIN SELECT 1; END");
    p.check_same();
    p.write("DROP TRIGGER tr; DROP VIEW tv; DROP INDEX tb");
    p.check_same();
}

TEST_CASE("ALTER TABLE ADD COLUMN and RENAME COLUMN replicate", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 2), (3, 4)");
    p.write("ALTER TABLE t ADD COLUMN c DEFAULT 'dflt'");
    p.write("ALTER TABLE t RENAME COLUMN a TO x");
    p.write("INSERT INTO t(x, b) VALUES (5, 6); UPDATE t SET c = x WHERE b = 2");
    p.check_same();
}

TEST_CASE("ALTER TABLE RENAME TO replicates as its statement, not as a new table", "[shared]") {
    // The renamed table is new to the table list, as a created one is: it must not be
    // taken for CREATE TABLE ... AS SELECT (its definition and rows), which would leave
    // the old table on every replica.
    Pair p;
    p.write("CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 2)");
    std::string body = p.write("ALTER TABLE t RENAME TO t2");
    std::vector<Effect> effects = decode_effects(body);
    REQUIRE(effects.size() == 1);
    CHECK(effects[0].kind == EffectKind::schema);
    CHECK(effects[0].sql.find("RENAME") != std::string_view::npos);
    p.write("INSERT INTO t2 VALUES (3, 4)");
    p.check_same();
}

TEST_CASE("ALTER TABLE DROP COLUMN replicates and the table's rows follow", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(a, b, c); INSERT INTO t VALUES (1, 2, 3), (4, 5, 6)");
    p.write("ALTER TABLE t DROP COLUMN b");
    p.check_same();
    p.write("UPDATE t SET c = a * 10; INSERT INTO t VALUES (7, 8); DELETE FROM t WHERE a = 1");
    p.check_same();
}

TEST_CASE("a REAL column's integral values replicate as SQLite stores them", "[shared]") {
    Pair p;
    p.write("CREATE TABLE r(id INTEGER PRIMARY KEY, v REAL)");
    p.write("INSERT INTO r(v) VALUES (1.0), (2.5), (-0.0), (1e300), (3), (?)", json::array{-4.0});
    p.write("UPDATE r SET v = v * 2");
    p.write("DELETE FROM r WHERE v > 4");
    p.check_same();
}

TEST_CASE("R-tree rows replicate through their shadow tables", "[shared]") {
    Pair p;
    p.write("CREATE VIRTUAL TABLE box USING rtree(id, x0, x1, y0, y1)");
    p.write(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
        " INSERT INTO box SELECT i, i, i + 2, i, i + 2 FROM n");
    p.write("DELETE FROM box WHERE id % 3 = 0; UPDATE box SET x1 = x1 + 1 WHERE id < 10");
    p.check_same();
    CHECK(p.on_replica("SELECT count(*) FROM box WHERE x0 <= 5 AND x1 >= 5").as_int64() == 3);
}
