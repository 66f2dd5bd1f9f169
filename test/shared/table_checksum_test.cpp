// checksum_database: which tables it covers, and that it tells apart any two databases
// whose rows differ in a rowid, a column, a type or a sign, but not two that hold the same
// rows written in a different order.

#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "shared/replication_log.hpp"
#include "shared/table_checksum.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

// A node's database as the checksum sees it: the log schema in place, SQL run as sqlrep's
// own (CREATE VIRTUAL TABLE, ANALYZE), checksums read on a read connection.
struct Db {
    ScratchDb scratch;
    Db() { ensure_log_schema(*scratch.writer); }
    void sql(const std::string& text) { scratch.writer->exec_internal(text); }
    // name -> {rows, checksum}
    std::map<std::string, std::pair<int64_t, std::string>> checksums() {
        auto reader = open_reader(scratch.path);
        std::map<std::string, std::pair<int64_t, std::string>> out;
        for (const auto& t : checksum_database(*reader).tables) out[t.name] = {t.rows, t.checksum};
        return out;
    }
    std::string checksum(const std::string& table) {
        auto all = checksums();
        REQUIRE(all.count(table) == 1);
        return all[table].second;
    }
};

}  // namespace

TEST_CASE("the checksum covers every table, sqlite_sequence included", "[shared]") {
    Db db;
    db.sql("CREATE TABLE plain (x)");
    db.sql("CREATE TABLE keyed (k TEXT PRIMARY KEY, v) WITHOUT ROWID");
    db.sql("CREATE TABLE counted (id INTEGER PRIMARY KEY AUTOINCREMENT, v)");
    db.sql("CREATE TABLE strict_t (a INTEGER, b TEXT) STRICT");
    db.sql("CREATE VIEW seen AS SELECT * FROM plain");
    db.sql("INSERT INTO plain VALUES (1), (2)");
    db.sql("INSERT INTO keyed VALUES ('a', 1)");
    db.sql("INSERT INTO counted(v) VALUES ('x')");
    db.sql("ANALYZE");
    auto sums = db.checksums();
    std::map<std::string, int64_t> rows;
    for (const auto& [name, sum] : sums) rows[name] = sum.first;
    // No _sqlrep_* table, no sqlite_stat1, no sqlite_schema, no view.
    CHECK(rows ==
          std::map<std::string, int64_t>{
              {"counted", 1}, {"keyed", 1}, {"plain", 2}, {"sqlite_sequence", 1}, {"strict_t", 0}});
}

TEST_CASE("a virtual table is covered through its shadow tables", "[shared]") {
    Db db;
    db.sql("CREATE VIRTUAL TABLE docs USING fts5(body)");
    db.sql("INSERT INTO docs VALUES ('hello world')");
    auto sums = db.checksums();
    CHECK(sums.count("docs") == 0);
    CHECK(sums.count("docs_content") == 1);
    CHECK(sums.count("docs_data") == 1);
}

TEST_CASE("the same rows written in another order give the same checksums", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b}) {
        db->sql("CREATE TABLE t (x, y)");
        db->sql("CREATE TABLE k (name TEXT COLLATE NOCASE PRIMARY KEY, v) WITHOUT ROWID");
        db->sql("CREATE TABLE s (id INTEGER PRIMARY KEY AUTOINCREMENT, v)");
    }
    a.sql("INSERT INTO t(rowid, x, y) VALUES (1, 'a', 1.5), (2, 'b', NULL), (7, x'00', 3)");
    b.sql("INSERT INTO t(rowid, x, y) VALUES (7, x'00', 3), (2, 'b', NULL), (1, 'a', 1.5)");
    a.sql("INSERT INTO k VALUES ('b', 2), ('A', 1), ('c', 3)");
    b.sql("INSERT INTO k VALUES ('c', 3), ('b', 2), ('A', 1)");
    a.sql("INSERT INTO s(id, v) VALUES (1, 'x'), (5, 'y')");
    b.sql("INSERT INTO s(id, v) VALUES (5, 'y'), (1, 'x')");
    CHECK(a.checksums() == b.checksums());
}

TEST_CASE("rows that differ only in their rowids give different checksums", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b}) db->sql("CREATE TABLE t (x)");
    a.sql("INSERT INTO t(rowid, x) VALUES (1, 'a'), (2, 'b')");
    b.sql("INSERT INTO t(rowid, x) VALUES (1, 'b'), (2, 'a')");
    CHECK(a.checksum("t") != b.checksum("t"));

    Db c;
    c.sql("CREATE TABLE t (x)");
    c.sql("INSERT INTO t(rowid, x) VALUES (1, 'a'), (3, 'b')");
    CHECK(a.checksum("t") != c.checksum("t"));
}

TEST_CASE("a column named rowid does not hide the rowid from the checksum", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b}) db->sql("CREATE TABLE t (rowid TEXT, oid TEXT)");
    a.sql("INSERT INTO t(_rowid_, rowid, oid) VALUES (1, 'a', 'b')");
    b.sql("INSERT INTO t(_rowid_, rowid, oid) VALUES (2, 'a', 'b')");
    CHECK(a.checksum("t") != b.checksum("t"));
}

TEST_CASE("a table whose rowid names are all columns is still checksummed", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b}) db->sql("CREATE TABLE t (rowid, _rowid_, oid)");
    a.sql("INSERT INTO t VALUES (1, 2, 3), (4, 5, 6)");
    b.sql("INSERT INTO t VALUES (4, 5, 6), (1, 2, 3)");
    CHECK(a.checksum("t") == b.checksum("t"));
    b.sql("UPDATE t SET oid = 7 WHERE oid = 6");
    CHECK(a.checksum("t") != b.checksum("t"));
}

TEST_CASE("WITHOUT ROWID tables are checksummed over every column", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b}) db->sql("CREATE TABLE k (a, b, c, PRIMARY KEY (b, a)) WITHOUT ROWID");
    a.sql("INSERT INTO k VALUES (1, 2, 'x'), (2, 1, 'y')");
    b.sql("INSERT INTO k VALUES (1, 2, 'x'), (2, 1, 'z')");
    CHECK(a.checksum("k") != b.checksum("k"));
    b.sql("UPDATE k SET c = 'y' WHERE c = 'z'");
    CHECK(a.checksum("k") == b.checksum("k"));
}

TEST_CASE("values of another type or sign give different checksums", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b}) db->sql("CREATE TABLE t (x)");
    a.sql("INSERT INTO t(rowid, x) VALUES (1, 1)");
    b.sql("INSERT INTO t(rowid, x) VALUES (1, 1.0)");
    CHECK(a.checksum("t") != b.checksum("t"));
    b.sql("UPDATE t SET x = '1'");
    CHECK(a.checksum("t") != b.checksum("t"));

    Db plus, minus;
    plus.sql("CREATE TABLE t (x)");
    minus.sql("CREATE TABLE t (x)");
    plus.sql("INSERT INTO t(rowid, x) VALUES (1, 0.0)");
    minus.sql("INSERT INTO t(rowid, x) VALUES (1, -0.0)");
    CHECK(plus.checksum("t") != minus.checksum("t"));
}

TEST_CASE("sqlite_sequence's counters are part of the checksum", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b}) {
        db->sql("CREATE TABLE s (id INTEGER PRIMARY KEY AUTOINCREMENT, v)");
        db->sql("INSERT INTO s(v) VALUES ('x')");
    }
    // Same rows in s, but b has used (and given back) an id: its counter is ahead.
    b.sql("INSERT INTO s(v) VALUES ('y')");
    b.sql("DELETE FROM s WHERE v = 'y'");
    CHECK(a.checksum("s") == b.checksum("s"));
    CHECK(a.checksum("sqlite_sequence") != b.checksum("sqlite_sequence"));
}

TEST_CASE("checksums carry the applied index they were read at", "[shared]") {
    Db db;
    db.sql("CREATE TABLE t (x)");
    auto reader = open_reader(db.scratch.path);
    DatabaseChecksum sums = checksum_database(*reader);
    CHECK(sums.index == last_log_position(*db.scratch.writer).index);
    REQUIRE(sums.tables.size() == 1);
    CHECK(sums.tables[0].checksum.size() == 32);
}

TEST_CASE("tables whose names need quoting are checksummed", "[shared]") {
    Db a, b;
    for (Db* db : {&a, &b})
        db->sql(R"(CREATE TABLE "it's ""odd""" ("we'ird" PRIMARY KEY, "x""y") WITHOUT ROWID)");
    a.sql(R"(INSERT INTO "it's ""odd""" VALUES ('k', 1))");
    b.sql(R"(INSERT INTO "it's ""odd""" VALUES ('k', 2))");
    const std::string name = R"(it's "odd")";
    CHECK(a.checksums().at(name).first == 1);
    CHECK(a.checksum(name) != b.checksum(name));
}
