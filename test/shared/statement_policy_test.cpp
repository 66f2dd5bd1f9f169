// The statement policy as the executor applies it: what is a read, what changes the schema,
// and what client SQL may never do, checked against real SQLite databases.

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "shared/replication_log.hpp"
#include "shared/sql_executor.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

// A database file with a user table t(x) and an index on it, plus the reserved tables.
struct Db : ScratchDb {
    Db() {
        ensure_log_schema(*writer);
        run(*writer, "CREATE TABLE t(x); CREATE INDEX t_x ON t(x); INSERT INTO t VALUES (1)");
    }
    int64_t rows_in_t() { return scalar(*writer, "SELECT count(*) FROM t").as_int64(); }
};

}  // namespace

// --- reads and writes ----------------------------------------------------------------------

TEST_CASE("a read-only run refuses an INSERT with bad_request and writes nothing", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(
        run(*db.writer, "INSERT INTO t VALUES (2)", nullptr, ExecutionRule::read_only),
        ErrorKind::bad_request);
    CHECK(db.rows_in_t() == 1);
}

TEST_CASE("a read-only run refuses a write hidden after a read in the same text", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(
        run(*db.writer, "SELECT 1; DELETE FROM t", nullptr, ExecutionRule::read_only),
        ErrorKind::bad_request);
    CHECK(db.rows_in_t() == 1);
}

TEST_CASE("a read-only run answers a SELECT", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto r = query(*reader, "SELECT x FROM t");
    REQUIRE(rows_of(r).size() == 1);
    CHECK(rows_of(r)[0].as_array()[0].as_int64() == 1);
    CHECK_FALSE(r.privileged);
}

TEST_CASE("a write run executes an INSERT", "[shared]") {
    Db db;
    auto r = run(*db.writer, "INSERT INTO t VALUES (2)");
    CHECK(r.rows_affected == 1);
    CHECK(db.rows_in_t() == 2);
}

// --- privileged statements -----------------------------------------------------------------

TEST_CASE("contains_privileged flags schema changes whatever their case or leading comments",
          "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto sql =
        GENERATE(as<std::string>{}, "CREATE TABLE u(a)", "  /* x */ create index i2 on t(x)",
                 "-- note\n  CrEaTe ViEw v AS SELECT * FROM t",
                 "create trigger tr after insert on t begin select 1; end", "DROP TABLE t",
                 "drop index t_x", "ALTER TABLE t ADD COLUMN y", "alter table t rename to t2",
                 "CREATE UNIQUE INDEX IF NOT EXISTS i3 ON t(x)",
                 "SELECT 1; INSERT INTO t VALUES (5); /* then */ CREATE TABLE z(a)");
    INFO(sql);
    CHECK(contains_privileged(*reader, {SqlStatement{sql, nullptr}}));
}

TEST_CASE("contains_privileged does not flag reads and plain DML", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto sql = GENERATE(as<std::string>{}, "SELECT * FROM t", "INSERT INTO t VALUES (3)",
                        "UPDATE t SET x = 2", "DELETE FROM t",
                        "/* create table */ SELECT 'CREATE TABLE u(a)'");
    INFO(sql);
    CHECK_FALSE(contains_privileged(*reader, {SqlStatement{sql, nullptr}}));
}

TEST_CASE("contains_privileged looks at every statement of a batch", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    CHECK(contains_privileged(
        *reader, {SqlStatement{"SELECT 1", nullptr}, SqlStatement{"CREATE TABLE u(a)", nullptr}}));
}

TEST_CASE("contains_privileged throws forbidden for a statement the policy refuses", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    REQUIRE_THROWS_KIND(contains_privileged(*reader, {SqlStatement{"ATTACH 'x.db' AS y", nullptr}}),
                        ErrorKind::forbidden);
}

TEST_CASE("execute marks a schema change as privileged and plain DML as not", "[shared]") {
    Db db;
    CHECK(run(*db.writer, "CREATE TABLE u(a)").privileged);
    CHECK_FALSE(run(*db.writer, "INSERT INTO u VALUES (1)").privileged);
}

// --- forbidden everywhere ------------------------------------------------------------------

TEST_CASE("ATTACH is forbidden on read and write runs and creates no file", "[shared]") {
    Db db;
    auto target = db.dir.file("attached.sqlite");
    auto reader = open_reader(db.path);
    REQUIRE_THROWS_KIND(
        run(*reader, "ATTACH '" + target + "' AS other", nullptr, ExecutionRule::read_only),
        ErrorKind::forbidden);
    REQUIRE_THROWS_KIND(run(*db.writer, "ATTACH '" + target + "' AS other"), ErrorKind::forbidden);
    CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("DETACH is forbidden", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "DETACH main"), ErrorKind::forbidden);
    auto reader = open_reader(db.path);
    REQUIRE_THROWS_KIND(run(*reader, "DETACH other", nullptr, ExecutionRule::read_only),
                        ErrorKind::forbidden);
}

TEST_CASE("VACUUM INTO is forbidden on a read-only run and writes no file", "[shared]") {
    Db db;
    auto target = db.dir.file("copy.sqlite");
    auto reader = open_reader(db.path);
    REQUIRE_THROWS_KIND(
        run(*reader, "VACUUM INTO '" + target + "'", nullptr, ExecutionRule::read_only),
        ErrorKind::forbidden);
    CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("VACUUM INTO is forbidden on a write run and writes no file", "[shared]") {
    Db db;
    auto target = db.dir.file("copy.sqlite");
    REQUIRE_THROWS_KIND(run(*db.writer, "VACUUM INTO '" + target + "'"), ErrorKind::forbidden);
    CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("VACUUM INTO inside a write transaction is refused and writes no file", "[shared]") {
    Db db;
    auto target = db.dir.file("copy.sqlite");
    db.writer->exec_internal("BEGIN IMMEDIATE");
    auto thrown = thrown_by([&] { run(*db.writer, "VACUUM INTO '" + target + "'"); });
    db.writer->exec_internal("ROLLBACK");
    INFO(thrown.message);
    REQUIRE(thrown.thrown);
    // SQLite may refuse VACUUM in a transaction before the policy sees its ATTACH.
    CHECK((thrown.kind == ErrorKind::forbidden || thrown.kind == ErrorKind::bad_request));
    CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("plain VACUUM is forbidden", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "VACUUM"), ErrorKind::forbidden);
}

TEST_CASE("load_extension is forbidden", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT load_extension('/nonexistent/ext')"),
                        ErrorKind::forbidden);
    auto reader = open_reader(db.path);
    REQUIRE_THROWS_KIND(run(*reader, "SELECT load_extension('/nonexistent/ext')", nullptr,
                            ExecutionRule::read_only),
                        ErrorKind::forbidden);
}

TEST_CASE("PRAGMA journal_mode=DELETE is forbidden and the file stays in WAL mode", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "PRAGMA journal_mode=DELETE"), ErrorKind::forbidden);
    CHECK(internal_scalar(*db.writer, "PRAGMA journal_mode").as_string() == "wal");
}

TEST_CASE("PRAGMA writable_schema=1 is forbidden", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "PRAGMA writable_schema=1"), ErrorKind::forbidden);
    CHECK(internal_scalar(*db.writer, "PRAGMA writable_schema").as_int64() == 0);
}

TEST_CASE("PRAGMA synchronous=OFF is forbidden and durability is unchanged", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "PRAGMA synchronous=OFF"), ErrorKind::forbidden);
    CHECK(internal_scalar(*db.writer, "PRAGMA synchronous").as_int64() == 2);  // FULL
}

TEST_CASE("a pragma that only sets a value is forbidden even when it reads too", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "PRAGMA user_version=7"), ErrorKind::forbidden);
    REQUIRE_THROWS_KIND(run(*db.writer, "PRAGMA foreign_keys=ON"), ErrorKind::forbidden);
}

TEST_CASE("transaction control is forbidden", "[shared]") {
    Db db;
    auto sql = GENERATE(as<std::string>{}, "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "END", "ROLLBACK",
                        "SAVEPOINT s", "RELEASE s", "ROLLBACK TO s");
    INFO(sql);
    REQUIRE_THROWS_KIND(run(*db.writer, sql), ErrorKind::forbidden);
    // The connection is still in autocommit: a write commits on its own.
    run(*db.writer, "INSERT INTO t VALUES (9)");
    auto other = open_reader(db.path);
    CHECK(scalar(*other, "SELECT count(*) FROM t WHERE x = 9").as_int64() == 1);
}

TEST_CASE("TEMP objects are forbidden", "[shared]") {
    Db db;
    auto sql = GENERATE(as<std::string>{}, "CREATE TEMP TABLE tt(a)",
                        "create temporary table tt(a)", "CREATE TEMP VIEW tv AS SELECT 1",
                        "CREATE TEMP TRIGGER ttr AFTER INSERT ON t BEGIN SELECT 1; END");
    INFO(sql);
    REQUIRE_THROWS_KIND(run(*db.writer, sql), ErrorKind::forbidden);
}

TEST_CASE("a table or view created in the temp schema by name is forbidden", "[shared]") {
    // SQLite reports these as plain CREATE TABLE / CREATE VIEW with database "temp".
    Db db;
    auto sql = GENERATE(as<std::string>{}, "CREATE TABLE temp.tt(a)", "create table TEMP.tt(a)",
                        "CREATE VIEW temp.tv AS SELECT 1");
    INFO(sql);
    REQUIRE_THROWS_KIND(run(*db.writer, sql), ErrorKind::forbidden);
}

TEST_CASE("anything in the temp schema is forbidden however the schema is spelled", "[shared]") {
    // Judged by the schema SQLite resolved. CREATE TRIGGER temp.tr ON a main table is
    // reported as a trigger in "main" plus an insert into sqlite_temp_master in "temp".
    Db db;
    auto sql =
        GENERATE(as<std::string>{}, "CREATE TRIGGER temp.tr AFTER INSERT ON t BEGIN SELECT 1; END",
                 "CREATE TRIGGER \"TeMp\".tr AFTER INSERT ON t BEGIN SELECT 1; END",
                 "create trigger TEMP.tr before delete on t begin select 1; end",
                 "CREATE TABLE \"TeMp\".tt(a)", "CREATE TABLE 'temp'.tt(a)",
                 "CREATE VIEW \"temp\".tv AS SELECT 1",
                 "CREATE VIRTUAL TABLE temp.vt USING fts4(a)", "PRAGMA temp.user_version");
    INFO(sql);
    REQUIRE_THROWS_KIND(run(*db.writer, sql), ErrorKind::forbidden);
    // Nothing was made: the temp schema is still empty.
    CHECK(scalar(*db.writer, "SELECT count(*) FROM temp.sqlite_master").as_int64() == 0);
}

TEST_CASE("a main table may be renamed, and a column named temp dropped", "[shared]") {
    // Both make SQLite read and rewrite sqlite_temp_master itself, and DROP COLUMN reports
    // the column's name where other actions report the schema.
    Db db;
    run(*db.writer, "ALTER TABLE t ADD COLUMN temp");
    run(*db.writer, "ALTER TABLE t DROP COLUMN temp");
    run(*db.writer, "ALTER TABLE t RENAME TO t2");
    CHECK(scalar(*db.writer, "SELECT count(*) FROM t2").as_int64() == 1);
}

TEST_CASE("reading the (always empty) temp schema is allowed", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    CHECK(rows_of(query(*reader, "SELECT * FROM \"TeMp\".sqlite_master")).empty());
}

// --- functions and virtual tables that expose internals -------------------------------------

TEST_CASE("fts3_tokenizer is forbidden in every arity and spelling", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto sql =
        GENERATE(as<std::string>{}, "SELECT hex(fts3_tokenizer(?))", "SELECT FTS3_Tokenizer(?)",
                 "SELECT \"fts3_tokenizer\"(?)", "SELECT fts3_tokenizer(?, x'0000000000000000')",
                 "SELECT 1 WHERE fts3_tokenizer(?) IS NOT NULL");
    INFO(sql);
    auto t = thrown_by([&] { query(*reader, sql, json::array{"simple"}); });
    CHECK(t.thrown);
    CHECK(t.kind == ErrorKind::forbidden);
    CHECK(t.message.find("fts3_tokenizer") != std::string::npos);
    // Nor on the writer, where a registered pointer would outlive the request.
    REQUIRE_THROWS_KIND(run(*db.writer, sql, json::array{"simple"}), ErrorKind::forbidden);
}

TEST_CASE("functions that expose internals are forbidden", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto sql = GENERATE(as<std::string>{}, "SELECT fts5(NULL)", "SELECT rtreenode(2, x'00')",
                        "SELECT rtreedepth(x'00')", "SELECT sqlite_log(1, 'x')",
                        "SELECT load_extension('x')", "SELECT Load_Extension('x', 'y')");
    INFO(sql);
    REQUIRE_THROWS_KIND(query(*reader, sql), ErrorKind::forbidden);
}

TEST_CASE("virtual tables that expose internals are forbidden, also as table-valued functions",
          "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto sql = GENERATE(
        as<std::string>{}, "SELECT * FROM sqlite_stmt", "SELECT count(*) FROM main.sqlite_stmt",
        "SELECT sql FROM SQLITE_STMT", "SELECT * FROM dbstat", "SELECT 1 FROM dbstat('main')",
        "SELECT name FROM \"DbStat\" WHERE name LIKE '_sqlrep%'",
        "SELECT * FROM pragma_integrity_check", "SELECT * FROM pragma_quick_check('t')");
    INFO(sql);
    REQUIRE_THROWS_KIND(query(*reader, sql), ErrorKind::forbidden);
}

TEST_CASE("PRAGMA integrity_check and quick_check are forbidden: no time limit stops them",
          "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto sql = GENERATE(as<std::string>{}, "PRAGMA integrity_check", "PRAGMA quick_check",
                        "pragma main.integrity_check(10)", "PRAGMA Quick_Check(t)");
    INFO(sql);
    REQUIRE_THROWS_KIND(query(*reader, sql), ErrorKind::forbidden);
}

TEST_CASE("ordinary functions and json_each stay allowed", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    CHECK(scalar(*reader, "SELECT count(*) FROM json_each('[1,2,3]')").as_int64() == 3);
    CHECK(scalar(*reader, "SELECT length(hex(zeroblob(4)))").as_int64() == 8);
    CHECK(scalar(*reader, "SELECT count(*) FROM pragma_table_info('t')").as_int64() == 1);
}

// --- the reserved tables -------------------------------------------------------------------

TEST_CASE("client SQL cannot touch the reserved tables", "[shared]") {
    Db db;
    auto sql = GENERATE(as<std::string>{}, "SELECT * FROM _sqlrep_log",
                        "SELECT count(*) FROM _SQLREP_META", "SELECT * FROM main._sqlrep_log",
                        "SELECT x FROM t WHERE x IN (SELECT idx FROM _sqlrep_log)",
                        "INSERT INTO _sqlrep_meta (key, value) VALUES ('base_index', '99')",
                        "INSERT INTO _sqlrep_log VALUES (1, 1, 1, 1, 1, x'00', '[]')",
                        "UPDATE _sqlrep_meta SET value = '0'", "DELETE FROM _sqlrep_log",
                        "DROP TABLE _sqlrep_log", "DROP TABLE _sqlrep_meta",
                        "CREATE INDEX log_term ON _sqlrep_log(term)",
                        "CREATE TRIGGER log_tr AFTER INSERT ON _sqlrep_log BEGIN SELECT 1; END",
                        "ALTER TABLE _sqlrep_log ADD COLUMN extra",
                        "ALTER TABLE _sqlrep_meta RENAME TO meta2", "CREATE TABLE _sqlrep_mine(a)");
    INFO(sql);
    write_meta(*db.writer, "probe", "kept");
    REQUIRE_THROWS_KIND(run(*db.writer, sql), ErrorKind::forbidden);
    CHECK(read_meta(*db.writer, "probe") == std::optional<std::string>("kept"));
    CHECK(read_meta(*db.writer, "base_index") == std::nullopt);
    CHECK(last_log_position(*db.writer).index == 0);
}

TEST_CASE("a read-only run cannot read the reserved tables", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    REQUIRE_THROWS_KIND(
        run(*reader, "SELECT * FROM _sqlrep_log", nullptr, ExecutionRule::read_only),
        ErrorKind::forbidden);
    REQUIRE_THROWS_KIND(
        run(*reader, "SELECT * FROM _sqlrep_meta", nullptr, ExecutionRule::read_only),
        ErrorKind::forbidden);
}

TEST_CASE("a view over a reserved table cannot be read through", "[shared]") {
    Db db;
    write_meta(*db.writer, "secret", "s");
    auto created =
        thrown_by([&] { run(*db.writer, "CREATE VIEW peek AS SELECT * FROM _sqlrep_meta"); });
    if (created.thrown) {
        CHECK(created.kind == ErrorKind::forbidden);
    } else {
        REQUIRE_THROWS_KIND(run(*db.writer, "SELECT * FROM peek"), ErrorKind::forbidden);
    }
}

TEST_CASE("a trigger whose body writes a reserved table never runs that write", "[shared]") {
    Db db;
    write_meta(*db.writer, "probe", "kept");
    auto created = thrown_by([&] {
        run(*db.writer,
            "CREATE TRIGGER wipe AFTER INSERT ON t BEGIN DELETE FROM _sqlrep_meta; END");
    });
    if (created.thrown) {
        CHECK(created.kind == ErrorKind::forbidden);
    } else {
        REQUIRE_THROWS_KIND(run(*db.writer, "INSERT INTO t VALUES (2)"), ErrorKind::forbidden);
    }
    CHECK(read_meta(*db.writer, "probe") == std::optional<std::string>("kept"));
}

// --- introspection -------------------------------------------------------------------------

TEST_CASE("PRAGMA table_info is allowed on a read-only run", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto r = run(*reader, "PRAGMA table_info(t)", nullptr, ExecutionRule::read_only);
    REQUIRE(rows_of(r).size() == 1);
    CHECK(rows_of(r)[0].as_array()[1].as_string() == "x");
}

TEST_CASE("the pragma_table_info table-valued function is allowed on a read-only run", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto r =
        run(*reader, "SELECT name FROM pragma_table_info('t')", nullptr, ExecutionRule::read_only);
    REQUIRE(rows_of(r).size() == 1);
    CHECK(rows_of(r)[0].as_array()[0].as_string() == "x");
}

TEST_CASE("read-only pragmas without an argument are allowed", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    CHECK(rows_of(run(*reader, "PRAGMA user_version", nullptr, ExecutionRule::read_only)).size() ==
          1);
    CHECK(rows_of(run(*reader, "PRAGMA index_list(t)", nullptr, ExecutionRule::read_only)).size() ==
          1);
}
