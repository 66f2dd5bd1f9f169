// EffectApplier's divergence checks: a replica whose rows are not exactly the master's
// fails the first entry that meets the difference, with Error(diverged) naming the entry.
// Also what the applier needs to know about tables (table_shape.hpp).

#include <string>

#include <catch2/catch.hpp>

#include "shared/effects.hpp"
#include "shared/table_shape.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

struct Pair : MasterReplicaPair {
    // A change made on the replica behind sqlrep's back.
    void tamper(const std::string& sql) { replica.conn().exec_internal(sql); }
};

// Requires applying `body` on the replica to fail as diverged, naming entry `index`, and to
// leave the replica as it was.
void require_diverged(Pair& p, const std::string& body, const std::string& why = "") {
    std::string before = database_content(p.replica.conn());
    int64_t index = p.replica.applied() + 1;
    auto thrown = thrown_by([&] { p.replica.apply(body); });
    INFO("error message: " << thrown.message);
    REQUIRE(thrown.thrown);
    CHECK(thrown.kind == ErrorKind::diverged);
    CHECK(thrown.message.find("entry " + std::to_string(index) + " ") != std::string::npos);
    if (!why.empty()) CHECK(thrown.message.find(why) != std::string::npos);
    CHECK(p.replica.applied() == index - 1);
    CHECK(database_content(p.replica.conn()) == before);
}

}  // namespace

TEST_CASE("a row changed behind sqlrep's back fails the next entry that touches it", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
    p.write("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    p.tamper("UPDATE t SET v = 'tampered' WHERE id = 1");
    p.write("UPDATE t SET v = 'c' WHERE id = 2");  // another row: applies
    SECTION("an update") {
        require_diverged(p, p.master.write("UPDATE t SET v = 'd' WHERE id = 1"),
                         "update of t rowid 1");
    }
    SECTION("a delete") {
        require_diverged(p, p.master.write("DELETE FROM t WHERE id = 1"), "delete from t rowid 1");
    }
}

TEST_CASE("a value of the same number but another type is divergence", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
    p.write("INSERT INTO t VALUES (1, 1)");
    SECTION("a real") { p.tamper("UPDATE t SET v = 1.0"); }
    SECTION("a text") { p.tamper("UPDATE t SET v = '1'"); }
    require_diverged(p, p.master.write("UPDATE t SET v = 2"));
}

TEST_CASE("a row missing on the replica fails an update or a delete", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
    p.write("INSERT INTO t VALUES (1, 'a')");
    p.tamper("DELETE FROM t");
    SECTION("an update") {
        require_diverged(p, p.master.write("UPDATE t SET v = 'b'"), "not here");
    }
    SECTION("a delete") { require_diverged(p, p.master.write("DELETE FROM t"), "not here"); }
}

TEST_CASE("a row missing in a WITHOUT ROWID table fails an update", "[shared]") {
    Pair p;
    p.write("CREATE TABLE w(k PRIMARY KEY, v) WITHOUT ROWID");
    p.write("INSERT INTO w VALUES ('a', 1)");
    p.tamper("DELETE FROM w");
    require_diverged(p, p.master.write("UPDATE w SET v = 2"));
}

TEST_CASE("a row in the way fails an insert", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
    p.tamper("INSERT INTO t VALUES (1, 'squatter')");
    require_diverged(p, p.master.write("INSERT INTO t VALUES (1, 'a')"), "insert into t rowid 1");
}

TEST_CASE("a row in the way of a WITHOUT ROWID insert fails it", "[shared]") {
    Pair p;
    p.write("CREATE TABLE w(a, b, v, PRIMARY KEY (a, b)) WITHOUT ROWID");
    p.tamper("INSERT INTO w VALUES (1, 2, 'squatter')");
    require_diverged(p, p.master.write("INSERT INTO w VALUES (1, 2, 'a')"));
}

TEST_CASE("a table with a different column count fails the entries that touch it", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
    SECTION("before the applier has met the table") {
        p.tamper("ALTER TABLE t ADD COLUMN extra");
        require_diverged(p, p.master.write("INSERT INTO t VALUES (2, 'b')"), "stored columns");
    }
    SECTION("after the applier has met the table") {
        p.write("INSERT INTO t VALUES (1, 'a')");
        p.tamper("ALTER TABLE t ADD COLUMN extra");
        require_diverged(p, p.master.write("INSERT INTO t VALUES (2, 'b')"));
        require_diverged(p, p.master.write("DELETE FROM t"));
    }
}

TEST_CASE("a table missing on the replica fails the entries that touch it", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(v)");
    p.tamper("DROP TABLE t");
    require_diverged(p, p.master.write("INSERT INTO t VALUES (1)"), "no table named t");
}

TEST_CASE("a schema statement that fails on the replica is divergence", "[shared]") {
    Pair p;
    p.tamper("CREATE TABLE t(v)");
    require_diverged(p, p.master.write("CREATE TABLE t(v)"), "schema change");
}

TEST_CASE("a malformed body is divergence naming the entry", "[shared]") {
    Pair p;
    p.write("CREATE TABLE t(v)");
    std::string body = p.master.write("INSERT INTO t VALUES (1)");
    require_diverged(p, body.substr(0, body.size() - 1));
    require_diverged(p, "X");
    p.replica.apply(body);  // the good body still applies
}

TEST_CASE("the replica applies with triggers and foreign keys off", "[shared]") {
    Pair p;
    p.write(
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE child(id INTEGER PRIMARY KEY, parent REFERENCES parent(id));"
        "CREATE TABLE log(v); CREATE TRIGGER tr AFTER INSERT ON child BEGIN"
        " INSERT INTO log VALUES (new.id); END");
    // No parent 99: the master does not enforce foreign keys here, nor may the replica.
    p.write("INSERT INTO child VALUES (1, 99)");
    CHECK(scalar(p.replica.conn(), "SELECT count(*) FROM log").as_int64() == 1);
    CHECK(database_content(p.replica.conn()) == database_content(p.master.conn()));
}

// --- a delete and the insert that took its place, applied as one INSERT OR REPLACE ------

TEST_CASE("REPLACEs on the master leave the replica identical", "[shared]") {
    Pair p;
    p.write("CREATE TABLE kv(k TEXT PRIMARY KEY, v); CREATE TABLE n(id INTEGER PRIMARY KEY, v)");
    p.write("INSERT INTO kv VALUES ('a', 1), ('b', 2); INSERT INTO n VALUES (1, 'x')");
    SECTION("a conflict on a UNIQUE key: a new rowid") {
        p.write("INSERT OR REPLACE INTO kv VALUES ('a', 3)");
        p.write("REPLACE INTO kv VALUES ('b', 4), ('a', 5)");
    }
    SECTION("a conflict on the rowid") { p.write("INSERT OR REPLACE INTO n VALUES (1, 'y')"); }
    SECTION("a delete and an insert of another row") {
        p.write("DELETE FROM kv WHERE k = 'a'; INSERT INTO kv VALUES ('c', 6)");
    }
    SECTION("equal values under a partial UNIQUE index, which need not conflict") {
        p.write("CREATE TABLE pu(k, v); CREATE UNIQUE INDEX pu_k ON pu(k) WHERE v > 0");
        p.write("INSERT INTO pu VALUES ('a', 1)");
        p.write("DELETE FROM pu WHERE k = 'a'; INSERT INTO pu VALUES ('a', -1)");
    }
    SECTION("equal values under an expression index, which need not conflict") {
        p.write("CREATE TABLE eu(k, v); CREATE UNIQUE INDEX eu_k ON eu(k, v + 0)");
        p.write("INSERT INTO eu VALUES ('a', 1)");
        p.write("DELETE FROM eu WHERE k = 'a'; INSERT INTO eu VALUES ('a', 2)");
    }
    SECTION("NULLs under a UNIQUE index, which never conflict") {
        p.write("CREATE TABLE nu(k UNIQUE, v)");
        p.write("INSERT INTO nu VALUES (NULL, 1)");
        p.write("DELETE FROM nu; INSERT INTO nu VALUES (NULL, 2)");
    }
    CHECK(database_content(p.replica.conn()) == database_content(p.master.conn()));
}

TEST_CASE("a REPLACE whose deleted row differs on the replica is divergence", "[shared]") {
    Pair p;
    p.write("CREATE TABLE kv(k TEXT PRIMARY KEY, v)");
    p.write("INSERT INTO kv VALUES ('a', 1), ('b', 2)");
    int64_t rowid = scalar(p.master.conn(), "SELECT rowid FROM kv WHERE k = 'a'").as_int64();
    SECTION("another value") {
        p.tamper("UPDATE kv SET v = 9 WHERE k = 'a'");
        require_diverged(p, p.master.write("INSERT OR REPLACE INTO kv VALUES ('a', 3)"),
                         "delete from kv rowid " + std::to_string(rowid));
    }
    SECTION("another rowid") {
        p.tamper("UPDATE kv SET rowid = 100 WHERE k = 'a'");
        require_diverged(p, p.master.write("INSERT OR REPLACE INTO kv VALUES ('a', 3)"),
                         "delete from kv rowid " + std::to_string(rowid));
    }
    SECTION("missing") {
        p.tamper("DELETE FROM kv WHERE k = 'a'");
        require_diverged(p, p.master.write("INSERT OR REPLACE INTO kv VALUES ('a', 3)"),
                         "not here");
    }
    SECTION("a row in the way of the insert") {
        int64_t next = scalar(p.master.conn(), "SELECT max(rowid) + 1 FROM kv").as_int64();
        p.tamper("INSERT INTO kv(rowid, k, v) VALUES (" + std::to_string(next) + ", 'x', 0)");
        require_diverged(p, p.master.write("INSERT OR REPLACE INTO kv VALUES ('a', 3)"),
                         "insert into kv rowid " + std::to_string(next));
    }
    SECTION("on the rowid") {
        p.write("CREATE TABLE n(id INTEGER PRIMARY KEY, v)");
        p.write("INSERT INTO n VALUES (1, 'x')");
        p.tamper("UPDATE n SET v = 'tampered'");
        require_diverged(p, p.master.write("INSERT OR REPLACE INTO n VALUES (1, 'y')"),
                         "delete from n rowid 1");
    }
}

// --- table_shape ---------------------------------------------------------------------------

TEST_CASE("a table's shape lists its stored columns in order, VIRTUAL ones left out", "[shared]") {
    ScratchDb db;
    run(*db.writer,
        "CREATE TABLE g(id INTEGER PRIMARY KEY, a, v AS (a * 2) VIRTUAL,"
        " s AS (a + 1) STORED, b)");
    TableShape shape = load_table_shape(*db.writer, "g");
    CHECK(shape.name == "g");
    CHECK_FALSE(shape.without_rowid);
    CHECK(shape.rowid_name == "rowid");
    CHECK(shape.stored_columns == std::vector<std::string>{"id", "a", "s", "b"});
    CHECK(shape.writable == std::vector<bool>{true, true, false, true});
    CHECK(shape.key.empty());
}

TEST_CASE("a table's rowid goes by the first of rowid, oid, _rowid_ no column takes", "[shared]") {
    ScratchDb db;
    run(*db.writer,
        "CREATE TABLE a(v); CREATE TABLE b(RowId, v); CREATE TABLE c(rowid, OID);"
        "CREATE TABLE d(rowid PRIMARY KEY, oid, _rowid_) WITHOUT ROWID");
    CHECK(load_table_shape(*db.writer, "a").rowid_name == "rowid");
    CHECK(load_table_shape(*db.writer, "b").rowid_name == "oid");
    CHECK(load_table_shape(*db.writer, "c").rowid_name == "_rowid_");
    TableShape d = load_table_shape(*db.writer, "d");
    CHECK(d.without_rowid);
    CHECK(d.rowid_name.empty());
}

TEST_CASE("a WITHOUT ROWID table's key lists its primary key columns in key order", "[shared]") {
    ScratchDb db;
    run(*db.writer, "CREATE TABLE w(a, b, c, PRIMARY KEY (c, a)) WITHOUT ROWID");
    TableShape shape = load_table_shape(*db.writer, "w");
    CHECK(shape.without_rowid);
    CHECK(shape.stored_columns == std::vector<std::string>{"a", "b", "c"});
    CHECK(shape.key == std::vector<std::size_t>{2, 0});
}

TEST_CASE("the shape of a table that is not there is divergence", "[shared]") {
    ScratchDb db;
    REQUIRE_THROWS_KIND(load_table_shape(*db.writer, "nowhere"), ErrorKind::diverged);
}

TEST_CASE("quote_identifier doubles double quotes", "[shared]") {
    CHECK(quote_identifier("t") == "\"t\"");
    CHECK(quote_identifier("a\"b") == "\"a\"\"b\"");
    CHECK(quote_identifier("") == "\"\"");
}
