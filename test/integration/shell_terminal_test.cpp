// The sqlrep shell (tools/shell) typed on a pseudo-terminal against a real cluster: line
// editing, history recall with the arrows (also from the last session's file), a statement
// over several lines, Ctrl-C and Ctrl-D, every dot-command. Every wait on the terminal is
// bounded; a test that fails kills the shell and removes its temp dir; the cluster harness
// kills the nodes.

#include <string>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "shell_driver.hpp"

using namespace sqlrep::test;
using namespace sqlrep::test::shell_driver;
namespace json = boost::json;

TEST_CASE("shell on a terminal runs typed statements, spans lines and recalls history",
          "[integration][shell]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster cluster(options);
    TempDir home;
    {
        TerminalShell shell({"--node", cluster.master().url()}, home.path());
        shell.expect("sqlrep> ");
        shell.type("CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT, weight REAL);\r");
        shell.expect("0 rows affected");
        shell.expect("sqlrep> ");
        shell.type("INSERT INTO pets(name, weight) VALUES ('rex', 12.5), ('tom', 4);\r");
        shell.expect("2 rows affected, last insert id 2");
        shell.expect("sqlrep> ");

        // One statement over three lines: a continuation prompt until the ';'. The ';' in
        // the literal does not end it.
        shell.type("SELECT name || ';' AS tagged,\r");
        shell.expect("...> ");
        shell.type("  weight * 2 AS doubled\r");
        shell.expect("...> ");
        shell.type("FROM pets ORDER BY id;\r");
        shell.expect("tagged");
        shell.expect("rex;");
        shell.expect("25.0");
        shell.expect("tom;");
        shell.expect("8.0");
        shell.expect("sqlrep> ");

        // Non-ASCII text typed as UTF-8 comes through whole.
        shell.type("SELECT 'grüße' || '!' AS greeting;\r");
        shell.expect("grüße!");
        shell.expect("sqlrep> ");

        // The Up arrow brings back the last statement; Enter runs it again.
        shell.type("SELECT 'ab' || 'cd' AS joined;\r");
        shell.expect("abcd");
        shell.expect("sqlrep> ");
        shell.type("\x1b[A");
        shell.expect("'ab' || 'cd'");
        shell.type("\r");
        shell.expect("abcd");
        shell.expect("sqlrep> ");

        // Errors show the node's text and the shell goes on.
        shell.type("SELECT * FROM no_such_table;\r");
        shell.expect("no such table");
        shell.expect("sqlrep> ");
        shell.type(".quit\r");
        CHECK(shell.wait_exit() == 0);
    }
    std::string history = read_whole(home.path() + "/.sqlrep_history");
    // libedit's history file escapes white space (\040): look for words without any.
    CHECK(history.find("'cd'") != std::string::npos);
    CHECK(history.find("no_such_table;") != std::string::npos);

    // A new session recalls the last one's statements from ~/.sqlrep_history.
    TerminalShell again({"--node", cluster.replica(1).url()}, home.path());
    again.expect("sqlrep> ");
    again.type("\x1b[A\x1b[A");  // .quit, then the statement before it
    again.expect("no_such_table");
    again.type("\x1b[A\x1b[B\r");  // one further back ('ab' || 'cd'), then forward again
    again.expect("no such table");
    again.expect("sqlrep> ");
    // Ctrl-D on an empty line ends the session. Typed only once the line editor has the
    // terminal (it draws a recalled line; ^U clears it): a ^D that reached the terminal
    // while it was still in canonical mode would be an end of file the mode switch drops.
    again.type("\x1b[A");
    again.expect("no_such_table");
    again.type("\x15\x04");
    CHECK(again.wait_exit() == 0);

    // Ctrl-C drops the statement being typed, and the shell goes on.
    TerminalShell interrupted({"--node", cluster.master().url()}, home.path());
    interrupted.expect("sqlrep> ");
    interrupted.type("SELECT 'kept' || 'x' AS k;\r");
    interrupted.expect("keptx");
    interrupted.expect("sqlrep> ");
    interrupted.type("SELECT 'ne' || 'ver'\r");
    interrupted.expect("...> ");
    // At once, unlike ^D above: a ^C that comes before the line editor reads still counts.
    interrupted.type("\x03");
    interrupted.expect("sqlrep> ");
    interrupted.type("SELECT 'aft' || 'er' AS a;\r");
    interrupted.expect("after");
    interrupted.expect("sqlrep> ");
    CHECK(interrupted.screen().find("never") == std::string::npos);
    CHECK(interrupted.screen().find("Error") == std::string::npos);
    // Killed, it has saved its history all the same.
    interrupted.kill();
    CHECK(interrupted.wait_exit() != 0);
    CHECK(read_whole(home.path() + "/.sqlrep_history").find("'kept'") != std::string::npos);
}

TEST_CASE("shell on a terminal runs every dot-command", "[integration][shell]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)");
    cluster.exec_ok(cluster.master(), "CREATE INDEX items_label ON items(label)");
    cluster.exec_ok(cluster.master(), "INSERT INTO items(label) VALUES ('alpha'), (NULL)");
    cluster.wait_converged();
    TempDir home;
    std::string script = home.file("script.sql",
                                   "INSERT INTO items(label) VALUES ('from-file');\n"
                                   "SELECT count(*) AS counted FROM items;\n");

    TerminalShell shell({"--node", cluster.replica(1).url()}, home.path());
    shell.expect("Connected to " + cluster.replica(1).url() + " (replica");
    shell.expect("sqlrep> ");

    shell.type(".help\r");
    for (const char* command :
         {".dump", ".mode", ".nodes", ".quit", ".read", ".schema", ".status", ".tables", ".timer"})
        CHECK_NOTHROW(shell.expect(command));
    shell.expect("sqlrep> ");

    shell.type(".tables\r");
    shell.expect("items");
    shell.expect("sqlrep> ");

    shell.type(".schema items\r");
    shell.expect("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);");
    shell.expect("CREATE INDEX items_label ON items(label);");
    shell.expect("sqlrep> ");

    shell.type(".status\r");
    shell.expect("role");
    shell.expect("replica");
    shell.expect("applied_index");
    shell.expect("sqlrep> ");

    shell.type(".nodes\r");
    shell.expect("applied_index");
    shell.expect(cluster.master().url());
    shell.expect("master");
    shell.expect(cluster.replica(1).url());
    shell.expect("following");
    shell.expect("IN SYNC at index");  // the node's verdict, as show_all words it
    shell.expect("sqlrep> ");

    shell.type(".mode json\r");
    shell.expect("sqlrep> ");
    shell.type("SELECT id, label FROM items ORDER BY id;\r");
    shell.expect(R"([{"id":1,"label":"alpha"},)");
    shell.expect(R"({"id":2,"label":null}])");
    shell.expect("sqlrep> ");

    shell.type(".mode csv\r");
    shell.expect("sqlrep> ");
    shell.type("SELECT id, label, 'a,\"b' AS quoted FROM items ORDER BY id;\r");
    shell.expect("id,label,quoted");
    shell.expect("1,alpha,\"a,\"\"b\"");
    shell.expect("2,,\"a,\"\"b\"");
    shell.expect("sqlrep> ");

    shell.type(".mode line\r");
    shell.expect("sqlrep> ");
    shell.type("SELECT id, label FROM items WHERE id = 1;\r");
    shell.expect("   id = 1");
    shell.expect("label = alpha");
    shell.expect("sqlrep> ");

    shell.type(".mode\r");
    shell.expect("line");
    shell.type(".mode table\r");
    shell.expect("sqlrep> ");

    shell.type(".timer on\r");
    shell.expect("sqlrep> ");
    shell.type("SELECT 6 * 7 AS product;\r");
    shell.expect("42");
    shell.expect("Run Time: ");
    shell.expect("sqlrep> ");
    shell.type(".timer off\r");
    shell.expect("sqlrep> ");

    // .read: a write through the replica (forwarded to the master), then a read.
    shell.type(".read " + script + "\r");
    shell.expect("1 row affected, last insert id 3");
    shell.expect("counted");
    shell.expect("3");
    shell.expect("sqlrep> ");

    shell.type(".dump\r");
    shell.expect("BEGIN TRANSACTION;");
    shell.expect("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);");
    shell.expect("INSERT INTO \"items\"(\"id\",\"label\") VALUES");
    shell.expect("(1,'alpha')");
    shell.expect("(2,NULL)");
    shell.expect("(3,'from-file');");
    shell.expect("CREATE INDEX items_label ON items(label);");
    shell.expect("COMMIT;");
    shell.expect("sqlrep> ");

    shell.type(".no_such_command\r");
    shell.expect("unknown command .no_such_command");
    shell.expect("sqlrep> ");
    shell.type(".exit\r");
    CHECK(shell.wait_exit() == 0);
}
