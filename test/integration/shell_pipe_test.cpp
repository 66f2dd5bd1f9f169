// The sqlrep shell (tools/shell) as scripts use it, against a real cluster: statements
// from a pipe and -c (results, exit statuses, the node's errors on stderr), the shell's
// BEGIN ... COMMIT, tokens, and .dump piped into a fresh node reproducing the content.

#include <string>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "shell_driver.hpp"

using namespace sqlrep::test;
using namespace sqlrep::test::shell_driver;
namespace json = boost::json;

TEST_CASE("shell reads statements from a pipe without a prompt and exits 0",
          "[integration][shell]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster cluster(options);
    TempDir dir;
    std::string input = dir.file("input.sql",
                                 "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n"
                                 "INSERT INTO notes(body) VALUES ('one; two'), ('it''s');\n"
                                 "-- a comment line\n"
                                 ".mode csv\n"
                                 "SELECT id,\n"
                                 "       body\n"
                                 "FROM notes ORDER BY id;\n"
                                 "SELECT count(*) AS n FROM notes");  // no ';' at the end
    PipeRun run = run_shell(dir, node_arg(cluster.master()), input);
    INFO(run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.err.empty());
    CHECK(run.out.find("sqlrep>") == std::string::npos);
    CHECK(run.out.find("id,body\r\n1,one; two\r\n2,it's\r\n") != std::string::npos);
    CHECK(run.out.find("n\r\n2\r\n") != std::string::npos);
}

TEST_CASE("shell -c runs statements and exits non-zero with the node's error on stderr",
          "[integration][shell]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster cluster(options);
    TempDir dir;

    PipeRun ok = run_shell(dir, node_arg(cluster.master()) +
                                    " -c 'CREATE TABLE t (x); INSERT INTO t VALUES (5); "
                                    "SELECT x * 2 AS twice FROM t;'");
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("twice") != std::string::npos);
    CHECK(ok.out.find("10") != std::string::npos);

    PipeRun bad =
        run_shell(dir, node_arg(cluster.replica(1)) + " -c 'SELECT * FROM missing_table'");
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("Error: ") != std::string::npos);
    CHECK(bad.err.find("no such table: missing_table") != std::string::npos);

    // A failing statement does not stop the ones after it; the exit status remembers it.
    PipeRun mixed = run_shell(
        dir, node_arg(cluster.master()) +
                 " --mode csv -c 'INSERT INTO t VALUES (1, 2); SELECT count(*) AS n FROM t;'");
    CHECK(mixed.exit_code == 1);
    CHECK(mixed.err.find("Error: ") != std::string::npos);
    CHECK(mixed.out.find("n\r\n1\r\n") != std::string::npos);

    // A write refused by policy, and a node that cannot be reached.
    PipeRun refused =
        run_shell(dir, node_arg(cluster.master()) + " -c 'ATTACH DATABASE \"x\" AS y'");
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("ATTACH") != std::string::npos);
    uint16_t closed_port = free_ports(1).at(0);
    PipeRun unreachable =
        run_shell(dir, "--node http://127.0.0.1:" + std::to_string(closed_port) + " -c 'SELECT 1'");
    CHECK(unreachable.exit_code == 1);
    CHECK(unreachable.err.find("Error: ") != std::string::npos);

    PipeRun version = run_shell(dir, "--version");
    CHECK(version.exit_code == 0);
    CHECK(version.out.rfind("sqlrep ", 0) == 0);
}

TEST_CASE("shell sends BEGIN ... COMMIT as one atomic batch and drops a ROLLBACK",
          "[integration][shell]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster cluster(options);
    TempDir dir;
    cluster.exec_ok(cluster.master(), "CREATE TABLE acct (id INTEGER PRIMARY KEY, n INTEGER)");
    int64_t before = cluster.master_index();

    std::string input = dir.file("tx.sql",
                                 "BEGIN;\n"
                                 "INSERT INTO acct VALUES (1, 10);\n"
                                 "INSERT INTO acct VALUES (2, 20);\n"
                                 "COMMIT;\n"
                                 "BEGIN TRANSACTION;\n"
                                 "INSERT INTO acct VALUES (3, 30);\n"
                                 "ROLLBACK;\n");
    PipeRun run = run_shell(dir, node_arg(cluster.replica(1)), input);
    INFO(run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.out.find("2 rows affected") != std::string::npos);
    CHECK(cluster.master_index() == before + 1);  // both inserts in one entry
    CHECK(cluster.rows(cluster.master(), "SELECT id FROM acct ORDER BY id") ==
          json::parse("[[1],[2]]").as_array());

    // A failing statement in the transaction: nothing of it applies.
    std::string failing = dir.file("fail.sql",
                                   "BEGIN;\n"
                                   "INSERT INTO acct VALUES (4, 40);\n"
                                   "INSERT INTO acct VALUES (1, 0);\n"
                                   "COMMIT;\n");
    PipeRun failed = run_shell(dir, node_arg(cluster.master()), failing);
    CHECK(failed.exit_code == 1);
    CHECK(failed.err.find("UNIQUE") != std::string::npos);
    CHECK(cluster.rows(cluster.master(), "SELECT count(*) FROM acct") ==
          json::parse("[[2]]").as_array());

    // Input that ends inside a transaction sends nothing and fails.
    PipeRun open = run_shell(
        dir, node_arg(cluster.master()) + " -c 'BEGIN; INSERT INTO acct VALUES (5, 50);'");
    CHECK(open.exit_code == 1);
    CHECK(open.err.find("inside a transaction") != std::string::npos);
    CHECK(cluster.rows(cluster.master(), "SELECT count(*) FROM acct") ==
          json::parse("[[2]]").as_array());
}

TEST_CASE("shell .dump piped into a fresh node reproduces identical content",
          "[integration][shell]") {
    ClusterOptions options;
    options.replicas = 0;
    Cluster source(options);
    Cluster target(options);
    TempDir dir;

    Node& m = source.master();
    source.exec_ok(m,
                   "CREATE TABLE kinds (id INTEGER PRIMARY KEY, t TEXT, b BLOB, r REAL, u, "
                   "n INTEGER)");
    source.exec_ok(m, "CREATE TABLE plain (a TEXT, b)");  // rowids of its own
    source.exec_ok(m, "CREATE TABLE pairs (k TEXT PRIMARY KEY, v) WITHOUT ROWID");
    source.exec_ok(m, "CREATE TABLE counted (id INTEGER PRIMARY KEY AUTOINCREMENT, x)");
    source.exec_ok(m,
                   "CREATE TABLE gen (a INTEGER, twice INTEGER GENERATED ALWAYS AS (a * 2) "
                   "STORED)");
    source.exec_ok(m, "CREATE INDEX plain_a ON plain(a)");
    source.exec_ok(m, "CREATE VIEW big AS SELECT id FROM kinds WHERE n > 100");
    source.exec_ok(m,
                   "CREATE TRIGGER counted_log AFTER INSERT ON counted BEGIN "
                   "INSERT INTO plain VALUES ('trigger; fired', new.x); END");
    source.exec_ok(m,
                   "INSERT INTO kinds VALUES "
                   "(1, 'it''s; a \"test\"', x'00ff10', 0.1, 'x', 9223372036854775807), "
                   "(2, 'line\nbreak', x'', 1e-300, 1e999, -9223372036854775808), "
                   "(5, 'ünïcødé ✓', NULL, 0.1 + 0.2, -1e999, NULL), "
                   "(9, '', zeroblob(3), -2.5e300, 3.0000000000000004, 7)");
    source.exec_ok(m, "INSERT INTO kinds(id, u) VALUES (10, ?)", json::array{-0.0});
    // SQLite reads this double's shortest text back one step off: .dump must not use it.
    source.exec_ok(m, "INSERT INTO kinds(id, u) VALUES (11, ?)",
                   json::array{-2.2606631148481385e-299});
    source.exec_ok(m, "INSERT INTO plain VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4)");
    source.exec_ok(m, "DELETE FROM plain WHERE a IN ('a', 'c')");  // rowid gaps
    source.exec_ok(m, "INSERT INTO pairs VALUES ('z', 1), ('a', x'01'), ('m', NULL)");
    source.exec_ok(m, "INSERT INTO counted(x) VALUES (1), (2), (3)");
    source.exec_ok(m, "DELETE FROM counted WHERE id = 3");  // the counter stays at 3
    source.exec_ok(m, "INSERT INTO gen(a) VALUES (1), (21)");
    // 300 KB of SQL per row: more rows than one statement of the node's 1 MiB can hold.
    source.exec_ok(m, "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)");
    source.exec_ok(m,
                   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8) "
                   "INSERT INTO blobs SELECT i, randomblob(150000) FROM n");

    PipeRun dump = run_shell(dir, node_arg(m) + " -c .dump");
    INFO(dump.err);
    REQUIRE(dump.exit_code == 0);
    INFO(dump.out);
    CHECK(dump.out.rfind("BEGIN TRANSACTION;\n", 0) == 0);
    CHECK(dump.out.find("_sqlrep_") == std::string::npos);
    std::string dump_file = dir.file("dump.sql", dump.out);

    PipeRun load = run_shell(dir, node_arg(target.master()), dump_file);
    INFO(load.err);
    REQUIRE(load.exit_code == 0);

    json::object a = source.checksums(m);
    json::object b = target.checksums(target.master());
    CHECK(json::serialize(a.at("tables")) == json::serialize(b.at("tables")));
    const char* schema =
        "SELECT type, name, tbl_name, sql FROM sqlite_schema "
        "WHERE name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY name";
    CHECK(source.rows(m, schema) == target.rows(target.master(), schema));

    // And again: the copy dumps to the same text.
    PipeRun again = run_shell(dir, node_arg(target.master()) + " -c .dump");
    CHECK(again.exit_code == 0);
    CHECK(again.out == dump.out);
}

TEST_CASE("shell presents --token or $SQLREP_TOKEN and reports a refused role",
          "[integration][shell]") {
    ClusterOptions options;
    options.replicas = 1;
    options.auth = json::serialize(json::array{
        json::object{{"token", "shell-reader"}, {"role", "read"}},
        json::object{{"token", "shell-admin"}, {"role", "admin"}},
    });
    options.client_token = "shell-admin";
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (x)");
    cluster.exec_ok(cluster.master(), "INSERT INTO t VALUES (41)");
    cluster.wait_converged();
    TempDir dir;

    PipeRun anonymous = run_shell(dir, node_arg(cluster.replica(1)) + " -c 'SELECT x FROM t'");
    CHECK(anonymous.exit_code == 1);
    CHECK(anonymous.err.find("Error: ") != std::string::npos);

    PipeRun reader =
        run_shell(dir, node_arg(cluster.replica(1)) +
                           " --token shell-reader --mode csv -c 'SELECT x + 1 AS y FROM t'");
    INFO(reader.err);
    CHECK(reader.exit_code == 0);
    CHECK(reader.out == "y\r\n42\r\n");

    // The token from the environment; a write with the read role is refused (403).
    PipeRun write = run_shell(dir, node_arg(cluster.master()) + " -c 'INSERT INTO t VALUES (1)'",
                              "", "SQLREP_TOKEN=shell-reader");
    CHECK(write.exit_code == 1);
    CHECK(write.err.find("Error: ") != std::string::npos);
    CHECK(cluster.rows(cluster.master(), "SELECT count(*) FROM t") ==
          json::parse("[[1]]").as_array());
}
