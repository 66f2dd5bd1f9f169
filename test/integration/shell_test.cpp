// The sqlrep shell (tools/shell) against a real cluster: typed on a pseudo-terminal (line
// editing, history recall with the Up arrow, a statement over several lines, every
// dot-command), and fed from pipes and -c (results, exit statuses, errors on stderr, the
// shell's BEGIN ... COMMIT), and .dump piped into a fresh node reproducing the content.
//
// Every wait on the terminal is bounded (poll with a deadline); a test that fails kills the
// shell and removes its temp dir; the cluster harness kills the nodes.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "cluster.hpp"

extern char** environ;

using namespace sqlrep::test;
namespace json = boost::json;

namespace {

constexpr auto kTerminalTimeout = 30s;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
  public:
    TempDir() {
        std::string base = "/tmp";
        if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
        std::string pattern = base + "/sqlrep-shell-XXXXXX";
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = buffer.data();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name, const std::string& content) const {
        std::string p = path_ + "/" + name;
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }

  private:
    std::string path_;
};

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The shell on a pseudo-terminal: what a person at a terminal does (keys in, screen out).
// HOME is `home` (its history file lands there) and TERM is xterm. The destructor kills
// the shell when it still runs.
class TerminalShell {
  public:
    TerminalShell(const std::vector<std::string>& args, const std::string& home) {
        std::vector<std::string> env_strings = {"HOME=" + home, "TERM=xterm"};
        for (char** e = environ; *e != nullptr; ++e) {
            std::string entry = *e;
            if (entry.rfind("HOME=", 0) != 0 && entry.rfind("TERM=", 0) != 0)
                env_strings.push_back(entry);
        }
        std::vector<std::string> argv_strings = {binary_path("sqlrep")};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_strings) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);

        winsize size{};
        size.ws_row = 50;
        size.ws_col = 250;  // wide: no line of the test wraps
        pid_ = ::forkpty(&fd_, nullptr, nullptr, &size);
        if (pid_ < 0) throw std::runtime_error("forkpty failed");
        if (pid_ == 0) {
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
    }
    ~TerminalShell() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) ::close(fd_);
    }
    TerminalShell(const TerminalShell&) = delete;
    TerminalShell& operator=(const TerminalShell&) = delete;

    // Keys as typed: "\r" is Enter, "\x1b[A" the Up arrow.
    void type(const std::string& keys) {
        size_t sent = 0;
        while (sent < keys.size()) {
            ssize_t n = ::write(fd_, keys.data() + sent, keys.size() - sent);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("cannot write to the shell's terminal");
            sent += static_cast<size_t>(n);
        }
    }

    // Waits until `text` appears on the screen after what earlier expects consumed, and
    // consumes up to its end. Throws (with the screen so far) when the timeout passes or
    // the shell ends first.
    void expect(const std::string& text, std::chrono::milliseconds timeout = kTerminalTimeout) {
        auto deadline = Clock::now() + timeout;
        while (true) {
            if (size_t at = screen_.find(text, cursor_); at != std::string::npos) {
                cursor_ = at + text.size();
                return;
            }
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0 || !read_some(left))
                throw std::runtime_error("the shell did not show \"" + text +
                                         "\"; its terminal since the last match:\n" +
                                         screen_.substr(cursor_));
        }
    }

    // Waits for the shell to exit and returns its exit code (-1 when killed by a signal);
    // kills it and throws when it does not exit within the timeout.
    int wait_exit(std::chrono::milliseconds timeout = kTerminalTimeout) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            read_some(50ms);  // keep the terminal drained so the shell never blocks on it
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
        }
        throw std::runtime_error("the shell did not exit; its terminal:\n" + screen_);
    }

    const std::string& screen() const { return screen_; }
    void kill() { ::kill(pid_, SIGKILL); }

  private:
    // Reads what is there within `timeout`; false at the end of output (the shell exited).
    bool read_some(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (ready <= 0) return ready == 0 || errno == EINTR;
        char buffer[4096];
        ssize_t n = ::read(fd_, buffer, sizeof buffer);
        if (n <= 0) return false;  // EIO: the other side of the terminal closed
        screen_.append(buffer, static_cast<size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    std::string screen_;
    size_t cursor_ = 0;
};

// Runs the shell with `args` and stdin from `input_file` (none when empty); stdout and
// stderr apart. An SQLREP_TOKEN of the environment running the tests is not passed on.
struct PipeRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// `env`: "NAME=value ..." set for the shell alone.
PipeRun run_shell(const TempDir& dir, const std::string& args, const std::string& input_file = "",
                  const std::string& env = "") {
    std::string out_path = dir.path() + "/stdout";
    std::string err_path = dir.path() + "/stderr";
    // A script of its own, so its redirections are not run_command's.
    std::string command = "env -u SQLREP_TOKEN " + env + " " + binary_path("sqlrep") + " " + args +
                          " >" + out_path + " 2>" + err_path;
    command += input_file.empty() ? " </dev/null" : " <" + input_file;
    std::string script = dir.file("run.sh", command + "\n");
    CommandRun run = run_command("sh " + script, /*with_stderr=*/false);
    return {run.exit_code, read_whole(out_path), read_whole(err_path)};
}

std::string node_arg(Node& node) { return "--node " + node.url(); }

}  // namespace

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
