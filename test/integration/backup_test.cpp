// Backups and restores against real clusters (README "Backups"): a backup taken under
// concurrent writes opens in Python's sqlite3 and holds exactly the rows acknowledged up to
// its index; an SQL dump reloads to the same per-table checksums; POST /restore reaches
// every replica (one that was down too) and the cluster goes on; a cluster booted with
// --restore serves the file's data; bad uploads are refused with a JSON 4xx and change
// nothing.

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "shared/compression.hpp"
#include "shared/http_client.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;
namespace http = boost::beast::http;

// A directory of the test's own files, removed whatever happens.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() / ("sqlrep-backup-test-" + random_hex(12));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

struct Backup {
    unsigned status = 0;
    std::string body;
    int64_t index = -1;
    std::string hash;
    std::string content_type;
};

// GET `target` (a backup) from `node`, with its headers.
Backup fetch_backup(Node& node, const std::string& target, const std::string& token = "") {
    sqlrep::ClientOptions client_options;
    client_options.bearer_token = token;
    sqlrep::HttpClient client(node.url(), client_options);
    sqlrep::HttpResult result = client.request(http::verb::get, target, "", {}, kRequestTimeout);
    Backup out;
    out.status = result.status;
    out.body = std::move(result.body);
    if (auto it = result.headers.find("x-sqlrep-index"); it != result.headers.end())
        out.index = std::stoll(it->second);
    if (auto it = result.headers.find("x-sqlrep-hash"); it != result.headers.end())
        out.hash = it->second;
    if (auto it = result.headers.find("content-type"); it != result.headers.end())
        out.content_type = it->second;
    return out;
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
}

std::string decompress(sqlrep::Codec codec, const std::string& bytes) {
    sqlrep::Decompressor decompressor(codec);
    std::string out;
    decompressor.write(bytes, out);
    decompressor.finish();
    return out;
}

// Runs a Python script (Python's own sqlite3 module, not ours) with `args`; its output.
std::string python(const std::string& script, const std::vector<std::string>& args) {
    std::string command = "python3 -c '" + script + "'";
    for (const auto& a : args) command += " '" + a + "'";
    CommandRun run = run_command(command);
    INFO("python3: " << command << "\n" << run.output);
    REQUIRE(run.exit_code == 0);
    return run.output;
}

// Opens a backup file with Python's sqlite3: integrity_check, its tables, the seqs of `w`.
const char* kInspect =
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1])\n"
    "print(c.execute(\"pragma integrity_check\").fetchone()[0])\n"
    "print(\",\".join(r[0] for r in c.execute(\"select name from sqlite_master where "
    "type=\\x27table\\x27 order by name\")))\n"
    "print(\" \".join(str(r[0]) for r in c.execute(\"select seq from w order by seq\")))\n";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::set<int64_t> parse_seqs(const std::string& line) {
    std::set<int64_t> out;
    std::stringstream in(line);
    for (int64_t v; in >> v;) out.insert(v);
    return out;
}

// The "tables" of a /checksum answer, without its index.
json::value tables_of(const json::object& checksums) { return checksums.at("tables"); }

Response post_restore(Node& node, const std::string& body, const std::string& content_type,
                      const std::string& query = "", const std::string& token = "") {
    NodeClient client(node.url(), token);
    std::map<std::string, std::string> headers;
    if (!content_type.empty()) headers["Content-Type"] = content_type;
    return client.request(http::verb::post, "/restore" + query, body, headers);
}

// Files a refused upload must not leave behind in the data dir.
int leftover_uploads(const std::string& data_dir) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(data_dir)) {
        std::string name = e.path().filename().string();
        if (name.find(".tmp-") != std::string::npos) ++n;
    }
    return n;
}

}  // namespace

TEST_CASE(
    "a backup taken under concurrent writes opens in Python's sqlite3 and holds exactly the "
    "rows acknowledged up to its index",
    "[integration][backup]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE w (seq INTEGER NOT NULL, val TEXT NOT NULL)");
    c.wait_converged();

    // One writer, so the index of each acknowledged insert is known exactly.
    std::mutex mutex;
    std::map<int64_t, int64_t> index_of;  // seq -> the index its insert was acked at
    std::atomic<bool> stop{false};
    std::atomic<int64_t> failures{0};
    std::thread writer([&, url = c.master().url()] {
        NodeClient client(url);
        for (int64_t seq = 1; !stop.load(); ++seq) {
            Response r =
                client.exec("INSERT INTO w (seq, val) VALUES (?, ?)",
                            json::array{seq, random_hex(16)}, json::object{{"ack", "master"}});
            if (!r.ok()) {
                failures.fetch_add(1);
                continue;
            }
            std::lock_guard lock(mutex);
            index_of[seq] = r.index();
        }
    });
    struct Join {
        std::atomic<bool>& stop;
        std::thread& t;
        ~Join() {
            stop = true;
            if (t.joinable()) t.join();
        }
    } join{stop, writer};

    TempDir dir;
    int taken = 0;
    for (const char* target :
         {"/backup", "/backup?compress=zstd", "/backup?compress=gzip", "/db/backup"}) {
        for (Node* node : {&c.master(), &c.replica(1)}) {
            // Let some writes land before each backup.
            int64_t before = c.master_index();
            for (int i = 0; i < 200 && c.master_index() < before + 20; ++i)
                std::this_thread::sleep_for(10ms);
            Backup b = fetch_backup(*node, target);
            INFO(node->name() << " GET " << target << ": HTTP " << b.status);
            REQUIRE(b.status == 200);
            REQUIRE(b.index > 0);
            CHECK(b.hash.size() == 32);
            std::string bytes = b.body;
            if (std::string(target).find("zstd") != std::string::npos) {
                CHECK(b.content_type == "application/zstd");
                bytes = decompress(sqlrep::Codec::zstd, b.body);
            } else if (std::string(target).find("gzip") != std::string::npos) {
                CHECK(b.content_type == "application/gzip");
                bytes = decompress(sqlrep::Codec::gzip, b.body);
            }
            std::string path = dir.file("backup-" + std::to_string(++taken) + ".db");
            write_file(path, bytes);

            std::vector<std::string> out = lines_of(python(kInspect, {path}));
            REQUIRE(out.size() == 3);
            CHECK(out[0] == "ok");
            CHECK(out[1] == "w");  // user tables only: no _sqlrep_ table
            std::set<int64_t> expected;
            {
                std::lock_guard lock(mutex);
                for (auto [seq, index] : index_of)
                    if (index <= b.index) expected.insert(seq);
            }
            std::set<int64_t> held = parse_seqs(out[2]);
            INFO("backup at index " << b.index << " holds " << held.size() << " rows, "
                                    << expected.size() << " acknowledged at or before it");
            CHECK(held == expected);
        }
    }
    stop = true;
    writer.join();
    CHECK(failures.load() == 0);
    CHECK(leftover_uploads(c.data_dir()) == 0);
}

TEST_CASE(
    "an SQL dump reloads to the same per-table checksums, in Python's sqlite3 and as a new "
    "cluster booted with --restore",
    "[integration][backup]") {
    TempDir dir;
    json::value original;
    std::string dump_path = dir.file("dump.sql.zst");
    {
        ClusterOptions one_replica;
        one_replica.replicas = 1;
        Cluster c(one_replica);
        for (const char* sql : {
                 "CREATE TABLE plain (a, b)",  // rowids only, some deleted
                 "CREATE TABLE typed (id INTEGER PRIMARY KEY AUTOINCREMENT, r REAL, t TEXT, "
                 "b BLOB, n INTEGER, g TEXT GENERATED ALWAYS AS (upper(t)) VIRTUAL)",
                 "CREATE TABLE keyed (k TEXT PRIMARY KEY, v) WITHOUT ROWID",
                 "CREATE TABLE \"odd \"\"name\" (\"rowid\" TEXT, x)",
                 "CREATE INDEX typed_r ON typed (r)",
                 "CREATE VIEW small AS SELECT * FROM typed WHERE r < 1",
                 "CREATE TRIGGER keep AFTER INSERT ON plain BEGIN "
                 "INSERT INTO keyed VALUES ('t' || new.rowid, new.a); END",
             })
            c.exec_ok(c.master(), sql);
        for (int i = 0; i < 50; ++i)
            c.exec_ok(c.master(), "INSERT INTO plain VALUES (?, ?)",
                      json::array{i, "row " + std::to_string(i)});
        c.exec_ok(c.master(), "DELETE FROM plain WHERE a % 7 = 3");
        c.exec_ok(c.master(),
                  "INSERT INTO typed (r, t, b, n) VALUES (0.1, 'x''y', x'00ff10', NULL), "
                  "(1e300, 'héllo\nworld', NULL, -9223372036854775808), "
                  "(0.30000000000000004, '', x'', 42), (-2.5e-308, NULL, NULL, 0)");
        c.exec_ok(c.master(), "DELETE FROM typed WHERE id = 2");
        c.exec_ok(c.master(), "INSERT INTO \"odd \"\"name\" VALUES ('r', 1), (NULL, 2)");
        c.wait_converged();

        Backup dump = fetch_backup(c.replica(1), "/backup?format=sql&compress=zstd");
        REQUIRE(dump.status == 200);
        // At the same index every node's backup names the same chained hash.
        Backup from_master = fetch_backup(c.master(), "/backup");
        REQUIRE(from_master.status == 200);
        CHECK(from_master.index == dump.index);
        CHECK(from_master.hash == dump.hash);
        json::object sums = c.checksums(c.replica(1));
        REQUIRE(sums.at("index").as_int64() == dump.index);
        original = tables_of(sums);
        write_file(dump_path, dump.body);

        // Python's sqlite3 loads the dump as it is.
        std::string plain = dir.file("dump.sql");
        write_file(plain, decompress(sqlrep::Codec::zstd, dump.body));
        std::string loaded = python(
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[2])\n"
            "c.executescript(open(sys.argv[1]).read())\n"
            "print(c.execute(\"select count(*) from plain\").fetchone()[0], "
            "c.execute(\"select seq from sqlite_sequence\").fetchone()[0], "
            "c.execute(\"select count(*) from small\").fetchone()[0])\n",
            {plain, dir.file("loaded.db")});
        CHECK(loaded == "43 4 3\n");
    }

    // A new cluster from the dump: every node holds the original's tables, checksum for
    // checksum (rowids, reals, blobs and AUTOINCREMENT's counter included).
    ClusterOptions options;
    options.replicas = 1;
    options.master_args = {"--restore", dump_path};
    Cluster booted(options);
    booted.wait_converged();
    booted.check_same_checksums();
    CHECK(tables_of(booted.checksums(booted.master())) == original);
    CHECK(tables_of(booted.checksums(booted.replica(1))) == original);
    // It goes on as any cluster: the trigger and AUTOINCREMENT came along.
    booted.exec_ok(booted.master(), "INSERT INTO plain VALUES (100, 'new')");
    booted.exec_ok(booted.master(), "INSERT INTO typed (r) VALUES (7)");
    booted.wait_converged();
    booted.check_same_checksums();
    CHECK(booted.rows(booted.master(), "SELECT max(id) FROM typed")[0].as_array()[0] == 5);
    CHECK(booted.rows(booted.replica(1), "SELECT v FROM keyed WHERE k = 't51'")[0].as_array()[0] ==
          100);

    // --restore boots a new cluster only: on a data dir that holds data it refuses to start.
    booted.master().terminate();
    CommandRun again =
        run_command(binary_path("master") + " 1 --port " + std::to_string(free_ports(1)[0]) +
                        " --data-dir " + booted.data_dir() + " --restore " + dump_path,
                    true, 30);
    CHECK(again.exit_code != 0);
    CHECK(again.output.find("already holds a database") != std::string::npos);
}

TEST_CASE(
    "POST /restore on the master reaches every replica, one that was down included, and the "
    "cluster goes on writing and failing over",
    "[integration][backup]") {
    ClusterOptions options;
    options.peers = true;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (int i = 0; i < 30; ++i)
        c.exec_ok(c.master(), "INSERT INTO t (v) VALUES (?)",
                  json::array{"before " + std::to_string(i)});
    c.wait_converged();
    Backup saved = fetch_backup(c.master(), "/backup");
    REQUIRE(saved.status == 200);
    json::value saved_tables = tables_of(c.checksums(c.master()));

    // What a restore undoes: more rows, a dropped table, a new one.
    c.exec_ok(c.master(), "INSERT INTO t (v) VALUES ('after')");
    c.exec_ok(c.master(), "CREATE TABLE extra (x)");
    c.exec_ok(c.master(), "DROP TABLE t");
    c.wait_converged();
    // Replica 2 misses the restore entirely.
    c.replica(2).kill();

    Response restored =
        post_restore(c.master(), saved.body, "application/octet-stream", "?ack=quorum");
    INFO(restored.describe());
    REQUIRE(restored.status == 200);
    REQUIRE(restored.ok());
    const int64_t restore_index = restored.index();
    CHECK(restore_index > saved.index);
    CHECK(restored.int_field("tables") == 1);

    c.replica(2).restart();
    c.replica(2).wait_ready();
    c.wait_all_applied(restore_index);
    c.check_same_checksums();
    for (Node* node : c.nodes()) CHECK(tables_of(c.checksums(*node)) == saved_tables);
    CHECK(c.rows(c.replica(2), "SELECT count(*) FROM t")[0].as_array()[0] == 30);
    CHECK(c.query(c.replica(1), "SELECT * FROM extra").status == 400);

    // Writes go on, chained after the restore entry; a replica restarted now resumes from
    // its log (no second snapshot needed), and a promotion carries the restored data.
    for (int i = 0; i < 10; ++i)
        c.exec_ok(c.node(i % 3), "INSERT INTO t (v) VALUES (?)", json::array{"later"});
    c.replica(1).restart();
    c.replica(1).wait_ready();
    c.wait_converged();
    c.check_same_checksums();

    c.master().kill();
    NodeClient admin = c.client(c.replica(1));
    Response promoted =
        admin.request(http::verb::post, "/_cluster/promote", "{}",
                      {{"X-Sqlrep-Token", c.token()}, {"Content-Type", "application/json"}});
    INFO("promote: " << promoted.describe());
    REQUIRE(promoted.ok());
    c.wait_following(2, 1);
    c.exec_ok(c.replica(1), "INSERT INTO t (v) VALUES ('new master')");
    c.wait_converged(kApplyTimeout, &c.replica(1));
    CHECK(c.checksums(c.replica(2)) == c.checksums(c.replica(1)));
    CHECK(c.rows(c.replica(2), "SELECT count(*) FROM t")[0].as_array()[0] == 41);
}

TEST_CASE("bad uploads to POST /restore get a JSON 4xx and change nothing",
          "[integration][backup]") {
    const std::string reader = "reader-" + random_hex(16);
    const std::string writer = "writer-" + random_hex(16);
    const std::string admin = "admin-" + random_hex(16);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = json::serialize(json::array{
        json::object{{"token", reader}, {"role", "read"}},
        json::object{{"token", writer}, {"role", "write"}},
        json::object{{"token", admin}, {"role", "admin"}},
    });
    options.client_token = admin;
    options.master_args = {"--max-restore-bytes", "200000"};
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    c.exec_ok(c.master(), "INSERT INTO t (v) VALUES ('keep me')");
    c.wait_converged();
    json::object before = c.checksums(c.master());

    // A sound backup, and broken versions of it.
    TempDir dir;
    Backup good = fetch_backup(c.master(), "/backup", reader);  // any client role may
    REQUIRE(good.status == 200);
    std::string corrupt = good.body;
    REQUIRE(corrupt.size() >= 8192);
    for (std::size_t i = 4096; i < 4096 + 64; ++i) corrupt[i] = static_cast<char>(0xA5);
    std::string reserved_path = dir.file("reserved.db");
    python(
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute(\"create table _sqlrep_log (x)\")\n"
        "c.commit()\n",
        {reserved_path});
    std::string big_sql = "BEGIN;\nCREATE TABLE big (v);\n";
    while (big_sql.size() < 400000)
        big_sql += "INSERT INTO big VALUES ('" + random_hex(64) + "');\n";
    big_sql += "COMMIT;\n";
    std::string bomb;  // small on the wire, over the limit once decompressed
    {
        sqlrep::Compressor gzip(sqlrep::Codec::gzip);
        gzip.write(big_sql, bomb);
        gzip.finish(bomb);
    }
    REQUIRE(bomb.size() < 200000);

    struct Case {
        const char* what;
        std::string body;
        std::string content_type;
        std::string token;
        unsigned status;
        Node* node = nullptr;
    };
    std::vector<Case> cases = {
        {"a write token", good.body, "application/octet-stream", writer, 403},
        {"a read token", good.body, "application/octet-stream", reader, 403},
        {"no token", good.body, "application/octet-stream", "", 401},
        {"a replica", good.body, "application/octet-stream", admin, 409, &c.replica(1)},
        {"text sent as a SQLite file", "hello", "application/octet-stream", admin, 400},
        {"text that is not SQL", "hello world", "text/plain", admin, 400},
        {"binary that is neither", std::string("\x01\x02\0\x03", 4), "", admin, 400},
        {"an empty body", "", "application/sql", admin, 400},
        {"a damaged SQLite file", corrupt, "application/octet-stream", admin, 400},
        {"a SQLite file with _sqlrep_ tables", read_file(reserved_path), "application/octet-stream",
         admin, 400},
        {"a dump that creates _sqlrep_ tables", "CREATE TABLE _sqlrep_meta (k, v);",
         "application/sql", admin, 400},
        {"a dump that attaches a file", "ATTACH '" + dir.file("x.db") + "' AS x;",
         "application/sql", admin, 400},
        {"a dump cut off inside its transaction", "BEGIN;\nCREATE TABLE cut (x);\n",
         "application/sql", admin, 400},
        {"a body over --max-restore-bytes", big_sql, "application/sql", admin, 413},
        {"a compressed body that inflates past the limit", bomb, "", admin, 413},
    };
    for (const Case& k : cases) {
        Node& node = k.node ? *k.node : c.master();
        Response r = post_restore(node, k.body, k.content_type, "", k.token);
        INFO(k.what << ": " << r.describe());
        CHECK(r.status == k.status);
        CHECK_FALSE(r.ok());
        CHECK_FALSE(r.error().empty());
        CHECK(c.checksums(c.master()) == before);
        CHECK(c.get(c.master(), "/health").ok());
    }
    for (const char* target :
         {"/backup?format=xml", "/backup?compress=lz4", "/db/backup?fmt=csv"}) {
        Backup refused = fetch_backup(c.master(), target, reader);
        INFO(target << ": " << refused.body);
        CHECK(refused.status == 400);
        CHECK(refused.body.find("\"error\"") != std::string::npos);
    }
    Backup anonymous = fetch_backup(c.master(), "/backup");
    CHECK(anonymous.status == 401);
    NodeClient client = c.client(c.master());
    Response get = client.get("/restore");
    CHECK(get.status == 405);
    CHECK_FALSE(get.error().empty());
    CHECK(leftover_uploads(c.data_dir()) == 0);
    CHECK(c.checksums(c.replica(1)) == before);

    // And the same upload with the admin token is taken, through rqlite's POST /db/load as
    // well; rqlite's GET /db/backup?fmt=sql gives the dump.
    NodeClient rqlite_client(c.master().url(), admin);
    Response taken = rqlite_client.request(http::verb::post, "/db/load", good.body,
                                           {{"Content-Type", "application/octet-stream"}});
    INFO(taken.describe());
    CHECK(taken.status == 200);
    c.wait_converged();
    c.check_same_checksums();
    CHECK(tables_of(c.checksums(c.master())) == tables_of(before));
    Backup dump = fetch_backup(c.replica(1), "/db/backup?fmt=sql", reader);
    CHECK(dump.status == 200);
    CHECK(dump.content_type == "application/sql");
    CHECK(dump.body.find("INSERT INTO \"t\"(\"id\",\"v\") VALUES(1,'keep me');") !=
          std::string::npos);
    CHECK(leftover_uploads(c.data_dir()) == 0);
}

// A node killed while it made a backup or took an upload leaves the temp file behind; it
// removes its own when it starts again, and leaves the other nodes' in the shared dir.
TEST_CASE("a restarted node removes the temporary files a crash left, and only its own",
          "[integration][backup]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    int64_t idx = c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('kept')");
    c.wait_all_applied(idx);
    auto leave = [&](int node_id, const std::string& kind) {
        std::string path = c.database_path(node_id) + ".tmp-" + kind + "-1234";
        std::ofstream(path) << "a temp file a crash left";
        return path;
    };
    c.master().kill();
    std::string master_backup = leave(0, "backup");
    std::string master_upload = leave(0, "restore-upload");
    std::string replica_snapshot = leave(1, "snapshot");  // replica 1 is still running
    c.master().start();
    c.master().wait_ready();

    CHECK_FALSE(std::filesystem::exists(master_backup));
    CHECK_FALSE(std::filesystem::exists(master_upload));
    CHECK(std::filesystem::exists(replica_snapshot));
    CHECK(c.rows(c.master(), "SELECT v FROM t") == json::array{json::array{"kept"}});
    std::filesystem::remove(replica_snapshot);
}
