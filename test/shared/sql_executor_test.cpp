// The executor on real SQLite files: statement splitting, parameters, typed results,
// counts, result caps and the deadline.

#include <chrono>
#include <csignal>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "shared/base64.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"
#include "shared/sql_executor.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

struct Db : ScratchDb {
    Db() { run(*writer, "CREATE TABLE t(x)"); }
    json::array column_x() {
        json::array out;
        for (auto& row : rows_of(query(*writer, "SELECT x FROM t ORDER BY rowid")))
            out.push_back(row.as_array()[0]);
        return out;
    }
};

json::value one(const ExecutionResult& r) { return rows_of(r).at(0).as_array().at(0); }

}  // namespace

// --- splitting -----------------------------------------------------------------------------

TEST_CASE("multi-statement text runs every statement in order with one result each", "[shared]") {
    Db db;
    auto r = run(*db.writer,
                 "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);\n"
                 "SELECT count(*) FROM t");
    REQUIRE(r.results.size() == 3);
    CHECK(one(r).as_int64() == 2);
    CHECK(r.rows_affected == 2);
}

TEST_CASE("a semicolon inside a string literal does not split the statement", "[shared]") {
    Db db;
    auto r = run(*db.writer, "INSERT INTO t VALUES ('a;b'); SELECT x FROM t");
    REQUIRE(r.results.size() == 2);
    CHECK(one(r).as_string() == "a;b");
}

TEST_CASE("a trailing comment or semicolon adds no statement", "[shared]") {
    Db db;
    CHECK(run(*db.writer, "SELECT 1; -- done").results.size() == 1);
    CHECK(run(*db.writer, "SELECT 1;;  ").results.size() == 1);
    CHECK(run(*db.writer, "SELECT 1 /* trailing */").results.size() == 1);
}

TEST_CASE("text with no statement is a bad request", "[shared]") {
    Db db;
    auto sql = GENERATE(as<std::string>{}, "", "   ", " ; ", "-- only a comment");
    INFO("sql: '" << sql << "'");
    REQUIRE_THROWS_KIND(run(*db.writer, sql), ErrorKind::bad_request);
}

TEST_CASE("invalid SQL is a bad request carrying SQLite's message", "[shared]") {
    Db db;
    auto thrown = thrown_by([&] { run(*db.writer, "SELEC 1"); });
    REQUIRE(thrown.thrown);
    CHECK(thrown.kind == ErrorKind::bad_request);
    CHECK_THAT(thrown.message, Catch::Contains("syntax error"));
}

TEST_CASE("a constraint violation is a bad request", "[shared]") {
    Db db;
    run(*db.writer, "CREATE TABLE u(a UNIQUE); INSERT INTO u VALUES (1)");
    REQUIRE_THROWS_KIND(run(*db.writer, "INSERT INTO u VALUES (1)"), ErrorKind::bad_request);
}

TEST_CASE("a NUL byte inside the SQL text does not hang the executor", "[shared]") {
    // Client JSON may carry "\u0000". Run in a child process so a hang cannot stall the suite.
    Db db;
    std::string sql("SELECT 1;\0SELECT 2", 18);
    for (bool scan_only : {false, true}) {
        INFO((scan_only ? "contains_privileged" : "execute"));
        pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            try {
                Connection conn(db.path, Connection::Mode::writer);
                if (scan_only)
                    (void)contains_privileged(conn, {SqlStatement{sql, nullptr}});
                else
                    (void)execute(conn, {SqlStatement{sql, nullptr}}, ExecutionRule::write);
            } catch (const Error&) {
                // Refusing the text is fine; only hanging is not.
            }
            ::_exit(0);
        }
        int status = 0;
        bool finished = false;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            if (::waitpid(child, &status, WNOHANG) == child) {
                finished = true;
                break;
            }
            ::usleep(20000);
        }
        if (!finished) {
            ::kill(child, SIGKILL);
            ::waitpid(child, &status, 0);
        }
        CHECK(finished);
        if (finished) CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
}

// --- parameters ----------------------------------------------------------------------------

TEST_CASE("positional parameters bind in order", "[shared]") {
    Db db;
    auto r = run(*db.writer, "SELECT ?, ?", json::array{1, "two"});
    CHECK(rows_of(r)[0].as_array() == json::array{1, "two"});
    auto numbered = run(*db.writer, "SELECT ?2, ?1, ?2", json::array{1, "two"});
    CHECK(rows_of(numbered)[0].as_array() == json::array{"two", 1, "two"});
}

TEST_CASE("named parameters bind with :, @ and $ prefixes and by bare key", "[shared]") {
    Db db;
    SECTION("keys spelled with their prefix") {
        auto r =
            run(*db.writer, "SELECT :a, @b, $c", json::object{{":a", 1}, {"@b", 2}, {"$c", 3}});
        CHECK(rows_of(r)[0].as_array() == json::array{1, 2, 3});
    }
    SECTION("bare keys") {
        auto r = run(*db.writer, "SELECT :a, @b, $c", json::object{{"a", 1}, {"b", 2}, {"c", 3}});
        CHECK(rows_of(r)[0].as_array() == json::array{1, 2, 3});
    }
    SECTION("a name used twice binds once") {
        auto r = run(*db.writer, "SELECT :a + :a", json::object{{"a", 20}});
        CHECK(one(r).as_int64() == 40);
    }
}

TEST_CASE("too few positional parameters is a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "INSERT INTO t VALUES (?), (?)", json::array{1}),
                        ErrorKind::bad_request);
    CHECK(db.column_x().empty());
}

TEST_CASE("too many positional parameters is a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "INSERT INTO t VALUES (?)", json::array{1, 2}),
                        ErrorKind::bad_request);
    CHECK(db.column_x().empty());
}

TEST_CASE("parameters for a statement without placeholders are a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "INSERT INTO t VALUES (1)", json::array{1}),
                        ErrorKind::bad_request);
    CHECK(db.column_x().empty());
}

TEST_CASE("placeholders without parameters are a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "INSERT INTO t VALUES (?)"), ErrorKind::bad_request);
}

TEST_CASE("a named parameter count mismatch is a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT :a, :b", json::object{{"a", 1}}),
                        ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT :a", json::object{{"a", 1}, {"b", 2}}),
                        ErrorKind::bad_request);
}

TEST_CASE("a named parameter the statement does not have is a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT :a", json::object{{"zz", 1}}),
                        ErrorKind::bad_request);
}

TEST_CASE("params given to multi-statement text are a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT ?; SELECT 2", json::array{1}),
                        ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT 1; SELECT :a", json::object{{"a", 1}}),
                        ErrorKind::bad_request);
}

TEST_CASE("params that are neither array nor object are a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT ?", json::value("1")), ErrorKind::bad_request);
}

TEST_CASE("a non-blob object or an array as a parameter is a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT ?", json::array{json::object{{"x", 1}}}),
                        ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT ?", json::array{json::array{1}}),
                        ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(
        run(*db.writer, "SELECT ?", json::array{json::object{{"blob", "AA=="}, {"x", 1}}}),
        ErrorKind::bad_request);
}

TEST_CASE("an integer parameter above SQLite's range is a bad request", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT ?", json::array{json::value(uint64_t{1} << 63)}),
                        ErrorKind::bad_request);
}

TEST_CASE("a blob parameter round-trips through {\"blob\": base64}", "[shared]") {
    Db db;
    std::string bytes("\x00\x01\xff\xfe\x80 binary\n\x00", 14);
    auto b64 = base64_encode(bytes);
    run(*db.writer, "INSERT INTO t VALUES (?)", json::array{json::object{{"blob", b64}}});
    CHECK(scalar(*db.writer, "SELECT typeof(x) FROM t").as_string() == "blob");
    CHECK(scalar(*db.writer, "SELECT length(x) FROM t").as_int64() == 14);
    auto back = scalar(*db.writer, "SELECT x FROM t");
    REQUIRE(back.is_object());
    CHECK(base64_decode(std::string(back.as_object().at("blob").as_string())) == bytes);
}

TEST_CASE("an empty blob parameter round-trips", "[shared]") {
    Db db;
    run(*db.writer, "INSERT INTO t VALUES (?)", json::array{json::object{{"blob", ""}}});
    CHECK(scalar(*db.writer, "SELECT typeof(x) FROM t").as_string() == "blob");
    CHECK(scalar(*db.writer, "SELECT x FROM t") == json::value(json::object{{"blob", ""}}));
}

TEST_CASE("a blob parameter that is not base64 is a bad request", "[shared]") {
    Db db;
    auto text = GENERATE(as<std::string>{}, "abc", "!!!!", "AAE=A", "ab c");
    INFO(text);
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT ?", json::array{json::object{{"blob", text}}}),
                        ErrorKind::bad_request);
}

TEST_CASE("a blob parameter with padding in the wrong place is a bad request", "[shared]") {
    Db db;
    auto text = GENERATE(as<std::string>{}, "AB=C", "A=AA", "A===", "====");
    INFO(text);
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT ?", json::array{json::object{{"blob", text}}}),
                        ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(base64_decode(text), ErrorKind::bad_request);
}

TEST_CASE("base64 round-trips every length", "[shared]") {
    std::string bytes;
    for (int n = 0; n < 40; ++n) {
        INFO("length " << n);
        CHECK(base64_decode(base64_encode(bytes)) == bytes);
        bytes.push_back(static_cast<char>(n * 37 + 200));
    }
}

// --- typed results -------------------------------------------------------------------------

TEST_CASE("results keep SQLite's types", "[shared]") {
    Db db;
    auto r = run(*db.writer,
                 "SELECT 42 AS i, 1.5 AS r, 2.0 AS whole, 'text' AS s, NULL AS n, "
                 "x'00ff' AS b, 9223372036854775807 AS big");
    auto& result = r.results[0].as_object();
    CHECK(result.at("columns").as_array() == json::array{"i", "r", "whole", "s", "n", "b", "big"});
    auto row = rows_of(r)[0].as_array();
    CHECK(row[0].is_int64());
    CHECK(row[0].as_int64() == 42);
    CHECK(row[1].is_double());
    CHECK(row[1].as_double() == 1.5);
    CHECK(row[2].is_double());
    CHECK(row[3].as_string() == "text");
    CHECK(row[4].is_null());
    CHECK(row[5] == json::value(json::object{{"blob", base64_encode(std::string("\x00\xff", 2))}}));
    CHECK(row[6].as_int64() == 9223372036854775807LL);
}

TEST_CASE("parameters keep their types through a table", "[shared]") {
    Db db;
    run(*db.writer, "INSERT INTO t VALUES (?), (?), (?), (?), (?)",
        json::array{7, 7.25, "s", nullptr, true});
    auto types = rows_of(query(*db.writer, "SELECT typeof(x) FROM t ORDER BY rowid"));
    CHECK(types[0].as_array()[0].as_string() == "integer");
    CHECK(types[1].as_array()[0].as_string() == "real");
    CHECK(types[2].as_array()[0].as_string() == "text");
    CHECK(types[3].as_array()[0].as_string() == "null");
    CHECK(types[4].as_array()[0].as_string() == "integer");
    CHECK(db.column_x() == json::array{7, 7.25, "s", nullptr, 1});
}

// --- counts --------------------------------------------------------------------------------

TEST_CASE("rows_affected counts DML and is 0 for DDL that follows it", "[shared]") {
    Db db;
    auto ddl = GENERATE(as<std::string>{}, "CREATE TABLE u(a)", "CREATE INDEX t_x ON t(x)",
                        "ALTER TABLE t ADD COLUMN y", "CREATE VIEW v AS SELECT * FROM t",
                        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", "DROP TABLE t");
    INFO(ddl);
    auto r = run(*db.writer, "INSERT INTO t VALUES (1), (2), (3); " + ddl);
    REQUIRE(r.results.size() == 2);
    CHECK(r.results[0].as_object().at("rows_affected").as_int64() == 3);
    CHECK(r.results[1].as_object().at("rows_affected").as_int64() == 0);
    CHECK(r.rows_affected == 3);
    CHECK(r.total_changes == 3);
}

TEST_CASE("rows_affected is 0 for an UPDATE matching nothing after an INSERT", "[shared]") {
    Db db;
    auto r = run(*db.writer, "INSERT INTO t VALUES (1), (2); UPDATE t SET x = 0 WHERE x > 100");
    CHECK(r.results[1].as_object().at("rows_affected").as_int64() == 0);
    CHECK(r.rows_affected == 2);
}

TEST_CASE("DDL in a separate statement after DML in the same batch reports 0", "[shared]") {
    Db db;
    auto r = execute(*db.writer,
                     {SqlStatement{"INSERT INTO t VALUES (1), (2)", nullptr},
                      SqlStatement{"CREATE TABLE u(a)", nullptr}},
                     ExecutionRule::write);
    CHECK(r.results[1].as_object().at("rows_affected").as_int64() == 0);
    CHECK(r.rows_affected == 2);
}

TEST_CASE("total_changes includes rows changed by triggers", "[shared]") {
    Db db;
    run(*db.writer,
        "CREATE TABLE audit(v); "
        "CREATE TRIGGER a AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (new.x); END");
    auto r = run(*db.writer, "INSERT INTO t VALUES (1), (2)");
    CHECK(r.rows_affected == 2);
    CHECK(r.total_changes == 4);
}

TEST_CASE("last_insert_id reports the rowid of the last insert", "[shared]") {
    Db db;
    run(*db.writer, "INSERT INTO t VALUES ('a')");
    auto r = run(*db.writer, "INSERT INTO t VALUES ('b')");
    CHECK(r.last_insert_id == 2);
}

// --- caps and deadline ---------------------------------------------------------------------

TEST_CASE("a result over the row cap is too_large", "[shared]") {
    Db db;
    ResultLimits limits;
    limits.max_rows = 3;
    const std::string rows4 =
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 4) SELECT n FROM c";
    REQUIRE_THROWS_KIND(run(*db.writer, rows4, nullptr, ExecutionRule::read_only, limits),
                        ErrorKind::too_large);
    const std::string rows3 =
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 3) SELECT n FROM c";
    CHECK(rows_of(run(*db.writer, rows3, nullptr, ExecutionRule::read_only, limits)).size() == 3);
}

TEST_CASE("the row cap counts rows across statements of one unit", "[shared]") {
    Db db;
    ResultLimits limits;
    limits.max_rows = 3;
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT 1 UNION ALL SELECT 2; SELECT 3 UNION ALL SELECT 4",
                            nullptr, ExecutionRule::read_only, limits),
                        ErrorKind::too_large);
}

TEST_CASE("a result over the byte cap is too_large", "[shared]") {
    Db db;
    ResultLimits limits;
    limits.max_bytes = 100;
    SECTION("over several rows") {
        REQUIRE_THROWS_KIND(run(*db.writer, "SELECT zeroblob(1000) UNION ALL SELECT zeroblob(999)",
                                nullptr, ExecutionRule::read_only, limits),
                            ErrorKind::too_large);
    }
    SECTION("in a single row") {
        REQUIRE_THROWS_KIND(
            run(*db.writer, "SELECT zeroblob(100000)", nullptr, ExecutionRule::read_only, limits),
            ErrorKind::too_large);
    }
}

TEST_CASE("a row of huge zeroblobs is refused before any of them is built", "[shared]") {
    Db db;
    ResultLimits limits;
    limits.max_bytes = 1 << 20;
    auto t = thrown_by([&] {
        run(*db.writer, "SELECT zeroblob(60000000), zeroblob(60000000), zeroblob(60000000)",
            nullptr, ExecutionRule::read_only, limits);
    });
    CHECK(t.thrown);
    CHECK(t.kind == ErrorKind::too_large);
    // A blob counts as its base64: 3 bytes of blob are 4 of answer.
    limits.max_bytes = 400;
    CHECK(
        rows_of(run(*db.writer, "SELECT zeroblob(300)", nullptr, ExecutionRule::read_only, limits))
            .size() == 1);
    REQUIRE_THROWS_KIND(
        run(*db.writer, "SELECT zeroblob(301)", nullptr, ExecutionRule::read_only, limits),
        ErrorKind::too_large);
}

TEST_CASE("text counts with its JSON escapes against the byte cap", "[shared]") {
    Db db;
    ResultLimits limits;
    limits.max_bytes = 100;
    // 50 control characters take 300 bytes once escaped.
    REQUIRE_THROWS_KIND(run(*db.writer, "SELECT replace(hex(zeroblob(25)), '0', char(1))", nullptr,
                            ExecutionRule::read_only, limits),
                        ErrorKind::too_large);
}

TEST_CASE("the value limit of a connection refuses longer values with bad_request", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    reader->set_value_limit(1000);
    REQUIRE_THROWS_KIND(query(*reader, "SELECT length(zeroblob(2000))"), ErrorKind::bad_request);
    CHECK(one(query(*reader, "SELECT length(zeroblob(999))")).as_int64() == 999);
}

TEST_CASE("a kept statement knows whether every step of it is short", "[shared]") {
    Db db;
    auto reader = open_reader(db.path);
    auto short_steps = [&](const std::string& sql) {
        query(*reader, sql);
        const Connection::ClientStatement* kept = reader->find_client_statement(sql);
        REQUIRE(kept != nullptr);
        return kept->short_steps;
    };
    CHECK(short_steps("SELECT x FROM t WHERE rowid = 1"));
    CHECK(short_steps("SELECT x FROM t"));
    // One opcode counts the whole table; the others call functions, sort, or filter a
    // virtual table in one step.
    CHECK_FALSE(short_steps("SELECT count(*) FROM t"));
    CHECK_FALSE(short_steps("SELECT x FROM t ORDER BY x + 1"));
    CHECK_FALSE(short_steps("SELECT x FROM t WHERE x LIKE 'a%'"));
    CHECK_FALSE(short_steps("SELECT * FROM json_each('[1]')"));
}

TEST_CASE("the watchdog interrupts a count(*) the progress handler cannot see", "[shared]") {
    // OP_Count counts a table in one opcode: only sqlite3_interrupt stops it. A table big
    // enough to take a moment, and a deadline already passed: the count must end in
    // timeout, not in an answer.
    Db db;
    run(*db.writer, "CREATE TABLE big(v)");
    run(*db.writer,
        "INSERT INTO big WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
        "FROM c WHERE n < 3000000) SELECT n FROM c");
    auto reader = open_reader(db.path);
    query(*reader, "SELECT count(*) FROM big");  // warm the cache: the count is all CPU
    reader->set_deadline(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    int interrupted = 0;
    for (int i = 0; i < 200 && interrupted == 0; ++i) {
        auto t = thrown_by([&] { query(*reader, "SELECT count(*) FROM big"); });
        if (t.thrown && t.kind == ErrorKind::timeout) ++interrupted;
    }
    reader->set_deadline(std::chrono::steady_clock::time_point::max());
    CHECK(interrupted == 1);
    CHECK(one(query(*reader, "SELECT count(*) FROM big")).as_int64() == 3000000);
}

TEST_CASE("a deadline in the past interrupts a long recursive CTE with timeout", "[shared]") {
    Db db;
    const std::string long_query =
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000000) "
        "SELECT count(*) FROM c";
    db.writer->set_deadline(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    auto started = std::chrono::steady_clock::now();
    REQUIRE_THROWS_KIND(run(*db.writer, long_query, nullptr, ExecutionRule::read_only),
                        ErrorKind::timeout);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    // Lifting the deadline makes the connection usable again.
    db.writer->set_deadline(std::chrono::steady_clock::time_point::max());
    CHECK(one(run(*db.writer, "SELECT 1", nullptr, ExecutionRule::read_only)).as_int64() == 1);
}

TEST_CASE("a deadline interrupts a long write and leaves nothing behind", "[shared]") {
    Db db;
    db.writer->set_deadline(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    REQUIRE_THROWS_KIND(run(*db.writer,
                            "INSERT INTO t WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
                            "FROM c WHERE n < 200000000) SELECT n FROM c"),
                        ErrorKind::timeout);
    db.writer->set_deadline(std::chrono::steady_clock::time_point::max());
    CHECK(db.column_x().empty());
}

TEST_CASE("a read transaction ends even when its deadline passed inside it", "[shared]") {
    // A read on an I/O thread has a 2 ms budget. SQLite calls the progress handler every
    // 1000 VM steps counted over a statement's life, so a kept COMMIT meets it now and then:
    // cut off there, it used to leave the connection inside its transaction for good.
    Db db;
    auto reader = open_reader(db.path);
    for (int i = 0; i < 2000; ++i) {
        {
            ReadTransaction transaction(*reader);
            CHECK(one(run(*reader, "SELECT 1", nullptr, ExecutionRule::read_only)).as_int64() == 1);
            reader->set_deadline(std::chrono::steady_clock::now() - std::chrono::seconds(1));
        }  // COMMIT, past the deadline
        reader->set_deadline(std::chrono::steady_clock::time_point::max());
        REQUIRE_FALSE(reader->in_transaction());
    }
}

TEST_CASE("an infinite real in a result shows as null, so the answer stays valid JSON",
          "[shared]") {
    Db db;
    auto r = query(*db.writer, "SELECT 1e999, -1e999, 1.5");
    auto row = rows_of(r).at(0).as_array();
    CHECK(row.at(0).is_null());
    CHECK(row.at(1).is_null());
    CHECK(row.at(2).as_double() == 1.5);
    CHECK(json::serialize(r.results).find("Infinity") == std::string::npos);
}

TEST_CASE("a value over the 64 MiB value limit is refused before it is built", "[shared]") {
    Db db;
    REQUIRE_THROWS_KIND(query(*db.writer, "SELECT length(zeroblob(100000000))"),
                        ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(query(*db.writer, "SELECT length(hex(zeroblob(40000000)))"),
                        ErrorKind::bad_request);
    CHECK(one(query(*db.writer, "SELECT length(zeroblob(1000000))")).as_int64() == 1000000);
}

// --- the connection's statement cache --------------------------------------------------------

TEST_CASE("a statement run again reuses its prepare and follows schema changes", "[shared]") {
    Db db;
    for (int i = 0; i < 3; ++i) run(*db.writer, "INSERT INTO t(x) VALUES (?)", json::array{i});
    CHECK(db.column_x() == json::array{0, 1, 2});
    CHECK(run(*db.writer, "INSERT INTO t(x) VALUES (?)", json::array{3}).last_insert_id == 4);
    run(*db.writer, "DROP TABLE t");
    run(*db.writer, "CREATE TABLE t(y, x)");
    run(*db.writer, "INSERT INTO t(x) VALUES (?)", json::array{7});
    CHECK(db.column_x() == json::array{7});
    run(*db.writer, "DROP TABLE t");
    auto t = thrown_by([&] { run(*db.writer, "INSERT INTO t(x) VALUES (?)", json::array{8}); });
    CHECK(t.thrown);
    CHECK(t.kind == ErrorKind::bad_request);
}

TEST_CASE("SQL first run with the reserved tables allowed is not reused for a client", "[shared]") {
    ScratchDb db;
    ensure_log_schema(*db.writer);
    internal_scalar(*db.writer, "SELECT count(*) FROM _sqlrep_log");
    auto t = thrown_by([&] { query(*db.writer, "SELECT count(*) FROM _sqlrep_log"); });
    CHECK(t.thrown);
    CHECK(t.kind == ErrorKind::forbidden);
}

TEST_CASE("a kept read still refuses to run where only reads are allowed", "[shared]") {
    Db db;
    run(*db.writer, "INSERT INTO t(x) VALUES (1)");
    auto t = thrown_by([&] { query(*db.writer, "INSERT INTO t(x) VALUES (1)"); });
    CHECK(t.thrown);
    CHECK(t.kind == ErrorKind::bad_request);
}
