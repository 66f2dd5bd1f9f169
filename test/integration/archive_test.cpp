// The continuous archive (--archive-dir) and point-in-time recovery (build/bin/restore),
// against real clusters: restores to recorded indexes and a time equal what the cluster
// held then; damaged, truncated and missing files are reported by name; --verify passes
// on a live cluster and fails on a tampered node; the archive keeps up with writes and
// holds the master's log trimming back; retention deletes old files and the latest
// point still restores; a second master cannot write into a held archive.

#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "etcd_server.hpp"
#include "shared/connection.hpp"
#include "shared/log_entry.hpp"
#include "shared/table_checksum.hpp"

namespace {

using namespace sqlrep::test;
namespace fs = std::filesystem;

// Per-table (rows, checksum) at one index, as GET /checksum gives it.
struct Sums {
    int64_t index = 0;
    std::map<std::string, std::pair<int64_t, std::string>> tables;
};

Sums from_checksum_body(const json::object& body) {
    Sums s;
    s.index = body.at("index").to_number<int64_t>();
    for (const auto& t : body.at("tables").as_array()) {
        const auto& o = t.as_object();
        s.tables[std::string(o.at("name").as_string())] = {
            o.at("rows").to_number<int64_t>(), std::string(o.at("checksum").as_string())};
    }
    return s;
}

// The checksums of a restored file kept with its log (--keep-log), computed the way
// GET /checksum computes them.
Sums checksums_of_file(const fs::path& path) {
    sqlrep::Connection db(path.string(), sqlrep::Connection::Mode::reader);
    sqlrep::DatabaseChecksum sums = sqlrep::checksum_database(db);
    Sums s;
    s.index = sums.index;
    for (const auto& t : sums.tables) s.tables[t.name] = {t.rows, t.checksum};
    return s;
}

std::vector<std::string> archive_files(const fs::path& dir, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) == 0) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Catch checks: the segments in `dir` hold every entry from just after the oldest
// snapshot to `last`, each in one file (later snapshots never stand in for entries).
void check_segments_contiguous(const fs::path& dir, int64_t last) {
    std::vector<std::string> names = archive_files(dir, "log-");
    std::vector<std::string> snapshots = archive_files(dir, "snapshot-");
    REQUIRE_FALSE(names.empty());
    REQUIRE_FALSE(snapshots.empty());
    int64_t first = std::stoll(names.front().substr(4, 12));
    CHECK(first <= std::stoll(snapshots.front().substr(9, 12)) + 1);
    int64_t next = first;
    for (const auto& name : names) {
        INFO(name);
        CHECK(std::stoll(name.substr(4, 12)) == next);
        next = std::stoll(name.substr(17, 12)) + 1;
    }
    CHECK(next == last + 1);
}

CommandRun restore(const std::string& args) {
    return run_command(binary_path("restore") + " " + args, /*with_stderr=*/true, 120);
}

// Master flags for an archive in `dir`: segments every 100 ms, a snapshot every
// `snapshot_every` entries.
std::vector<std::string> archive_args(const fs::path& dir, int snapshot_every, int retention = 0) {
    return {"--archive-dir",
            dir.string(),
            "--archive-interval",
            "100",
            "--archive-snapshot-every",
            std::to_string(snapshot_every),
            "--archive-retention",
            std::to_string(retention)};
}

json::object archive_status(Cluster& cluster) {
    return cluster.status(cluster.master()).at("archive").as_object();
}

// Polls the master's /status until its archive holds `index` (a bound against hangs,
// not a speed check).
void wait_archived(Cluster& cluster, int64_t index) {
    auto deadline = Clock::now() + kApplyTimeout;
    for (;;) {
        json::object a = archive_status(cluster);
        if (a.at("archived_index").to_number<int64_t>() >= index) return;
        if (Clock::now() > deadline)
            throw std::runtime_error("the archive did not reach index " + std::to_string(index) +
                                     ": " + json::serialize(a));
        std::this_thread::sleep_for(20ms);
    }
}

std::string rfc3339(int64_t ms) {
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
}

// Writes, updates and deletes rows of `table` from its own thread until stopped; pauses
// between two writes when asked.
class Churn {
  public:
    Churn(const std::string& url, std::string table) : url_(url), table_(std::move(table)) {
        thread_ = std::thread([this] { run(); });
    }
    ~Churn() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    // Returns once no write is in flight; writes resume with resume().
    void pause() {
        paused_ = true;
        while (!idle_) std::this_thread::sleep_for(1ms);
    }
    void resume() { paused_ = false; }
    int failures() const { return failures_; }

  private:
    void run() {
        NodeClient client(url_);
        for (int i = 0; !stop_; ++i) {
            if (paused_) {
                idle_ = true;
                std::this_thread::sleep_for(1ms);
                continue;
            }
            idle_ = false;
            std::string sql;
            switch (i % 4) {
                case 0:
                case 1:
                    sql = "INSERT INTO " + table_ + "(v) VALUES ('row " + std::to_string(i) + "')";
                    break;
                case 2:
                    sql = "UPDATE " + table_ +
                          " SET v = v || '+' WHERE id % 3 = " + std::to_string(i % 3);
                    break;
                default:
                    sql = "DELETE FROM " + table_ + " WHERE id = (SELECT min(id) FROM " + table_ +
                          ")";
            }
            try {
                if (!client.exec(sql).ok()) ++failures_;
            } catch (const std::exception&) {
                ++failures_;
            }
        }
        idle_ = true;
    }

    std::string url_, table_;
    std::atomic<bool> stop_{false}, paused_{false}, idle_{false};
    std::atomic<int> failures_{0};
    std::thread thread_;
};

}  // namespace

TEST_CASE("point-in-time restore to three indexes and a time equals what the cluster held then",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 1;
    options.master_args = archive_args(archive.path(), 60);
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    cluster.exec_ok(cluster.master(), "CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT)");

    Churn churn(cluster.master().url(), "u");
    std::vector<Sums> points;
    Sums at_time;
    int64_t time_ms = 0;
    for (int round = 0; round < 6; ++round) {
        for (int i = 0; i < 25; ++i)
            cluster.exec_ok(cluster.master(), "INSERT INTO t(v) VALUES (?)",
                            json::array{"r" + std::to_string(round) + "-" + std::to_string(i)});
        cluster.exec_ok(cluster.master(), "UPDATE t SET v = v || '!' WHERE id % 4 = ?",
                        json::array{round % 4});
        cluster.exec_ok(cluster.master(), "DELETE FROM t WHERE id % 7 = ?", json::array{round});
        if (round == 3) {
            // A time between two entries: nothing runs while it is taken, and the clock
            // moves past it before writes go on.
            churn.pause();
            at_time = from_checksum_body(cluster.checksums(cluster.master()));
            time_ms = sqlrep::unix_time_ms();
            while (sqlrep::unix_time_ms() <= time_ms + 1) std::this_thread::sleep_for(1ms);
            churn.resume();
        } else {
            // Under the other writer's inserts, updates and deletes.
            points.push_back(from_checksum_body(cluster.checksums(cluster.master())));
        }
    }
    churn.stop();
    CHECK(churn.failures() == 0);
    int64_t last = cluster.master_index();
    wait_archived(cluster, last);
    REQUIRE(archive_files(archive.path(), "snapshot-").size() >= 2);

    // Three indexes: one early (from the first snapshot), one in the middle, the last one.
    for (const Sums* want : {&points[0], &points[2], &points[4]}) {
        INFO("index " << want->index);
        fs::path out = archive.path().parent_path() /
                       ("restored-" + random_hex(8) + "-" + std::to_string(want->index) + ".db");
        CommandRun run = restore("--archive " + archive.path().string() + " --to-index " +
                                 std::to_string(want->index) + " --keep-log --out " + out.string());
        INFO(run.output);
        REQUIRE(run.exit_code == 0);
        Sums got = checksums_of_file(out);
        CHECK(got.index == want->index);
        CHECK(got.tables == want->tables);
        fs::remove(out);
    }

    // One time, given as RFC 3339 and as Unix ms: the database as of the last entry at or
    // before it.
    for (const std::string& when : {rfc3339(time_ms), std::to_string(time_ms)}) {
        INFO("--to-time " << when);
        fs::path out = archive.path().parent_path() / ("restored-time-" + random_hex(8) + ".db");
        CommandRun run = restore("--archive " + archive.path().string() + " --to-time " + when +
                                 " --keep-log --out " + out.string());
        INFO(run.output);
        REQUIRE(run.exit_code == 0);
        Sums got = checksums_of_file(out);
        CHECK(got.index == at_time.index);
        CHECK(got.tables == at_time.tables);
        fs::remove(out);
    }
    CommandRun bad_time =
        restore("--archive " + archive.path().string() + " --to-time 2026-13-01T00:00:00Z --out " +
                (archive.path().parent_path() / "never.db").string());
    CHECK(bad_time.exit_code == 1);
    CHECK_FALSE(fs::exists(archive.path().parent_path() / "never.db"));

    // Without --keep-log the output is a plain SQLite file holding the user's tables only.
    {
        fs::path out = archive.path().parent_path() / ("restored-plain-" + random_hex(8) + ".db");
        CommandRun run = restore("--archive " + archive.path().string() + " --to-index " +
                                 std::to_string(points[2].index) + " --out " + out.string());
        INFO(run.output);
        REQUIRE(run.exit_code == 0);
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(out.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
        auto count = [&](const std::string& sql) {
            sqlite3_stmt* stmt = nullptr;
            REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
            REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
            int64_t n = sqlite3_column_int64(stmt, 0);
            sqlite3_finalize(stmt);
            return n;
        };
        CHECK(count("SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_sqlrep\\_%' "
                    "ESCAPE '\\'") == 0);
        CHECK(count("SELECT count(*) FROM t") == points[2].tables.at("t").first);
        CHECK(count("SELECT count(*) FROM u") == points[2].tables.at("u").first);
        sqlite3_close(db);
        // It never overwrites a file.
        CommandRun again =
            restore("--archive " + archive.path().string() + " --latest --out " + out.string());
        CHECK(again.exit_code != 0);
        CHECK(again.output.find("exists") != std::string::npos);
    }

    // --verify on the live cluster, against the master and the replica.
    for (Node* node : cluster.nodes()) {
        CommandRun run =
            restore("--verify --archive " + archive.path().string() + " --node " + node->url());
        INFO(run.output);
        CHECK(run.exit_code == 0);
        CHECK(run.output.find("verified: every table matches") != std::string::npos);
    }
}

TEST_CASE("a truncated, damaged or missing archive file is reported by name",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 0;
    options.master_args = archive_args(archive.path(), 30);
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 20; ++i)
            cluster.exec_ok(cluster.master(), "INSERT INTO t(v) VALUES (hex(randomblob(40)))");
        wait_archived(cluster, cluster.master_index());  // several segments
    }
    int64_t last = cluster.master_index();
    wait_archived(cluster, last);
    cluster.master().kill();  // the archive stays as it is from here on

    auto copy = [&](const std::string& name) {
        fs::path dir = archive.path().parent_path() / (name + "-" + random_hex(8));
        fs::create_directories(dir);
        for (const auto& e : fs::directory_iterator(archive.path()))
            if (e.is_regular_file()) fs::copy_file(e.path(), dir / e.path().filename());
        return dir;
    };
    struct Remove {
        std::vector<fs::path> dirs;
        ~Remove() {
            std::error_code ignored;
            for (auto& d : dirs) fs::remove_all(d, ignored);
        }
    } cleanup;
    std::vector<std::string> segments = archive_files(archive.path(), "log-");
    std::vector<std::string> snapshots = archive_files(archive.path(), "snapshot-");
    REQUIRE(segments.size() >= 3);
    // Restoring the first segment's first index reads the first snapshot (at index 0, or
    // 1 when the archiver started after the CREATE) and that segment; the latest point
    // reads the last segment.
    const std::string first_segment = segments.front();
    const std::string into_first =
        "--to-index " + std::to_string(std::stoll(first_segment.substr(4, 12)));
    const std::string last_segment = segments.back();
    auto restore_in = [&](const fs::path& dir, const std::string& target) {
        fs::path out = dir / "out.db";
        return restore("--archive " + dir.string() + " " + target + " --out " + out.string());
    };

    SECTION("the intact archive restores") {
        fs::path dir = copy("intact");
        cleanup.dirs.push_back(dir);
        CommandRun run = restore_in(dir, "--to-index " + std::to_string(last));
        INFO(run.output);
        CHECK(run.exit_code == 0);
    }
    SECTION("a truncated segment") {
        fs::path dir = copy("truncated");
        cleanup.dirs.push_back(dir);
        fs::resize_file(dir / last_segment, fs::file_size(dir / last_segment) - 7);
        // Only the first snapshot: the restore must read every segment.
        for (std::size_t i = 1; i < snapshots.size(); ++i) fs::remove(dir / snapshots[i]);
        CommandRun run = restore_in(dir, "--to-index " + std::to_string(last));
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK(run.output.find(last_segment) != std::string::npos);
        CHECK(run.output.find("truncated") != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "out.db"));
    }
    SECTION("a flipped byte in a segment's content") {
        fs::path dir = copy("flipped");
        cleanup.dirs.push_back(dir);
        {
            std::fstream f(dir / first_segment, std::ios::in | std::ios::out | std::ios::binary);
            f.seekg(-3, std::ios::end);
            char c = 0;
            f.get(c);
            f.seekp(-3, std::ios::end);
            f.put(static_cast<char>(c ^ 0x10));
        }
        CommandRun run = restore_in(dir, into_first);
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK(run.output.find(first_segment) != std::string::npos);
        CHECK(run.output.find("damaged") != std::string::npos);
    }
    SECTION("a flipped byte in a header") {
        fs::path dir = copy("header");
        cleanup.dirs.push_back(dir);
        {
            std::fstream f(dir / first_segment, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(40);
            f.put('9');
        }
        CommandRun run = restore_in(dir, into_first);
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK(run.output.find(first_segment) != std::string::npos);
    }
    SECTION("a flipped byte in a snapshot") {
        fs::path dir = copy("snapshot");
        cleanup.dirs.push_back(dir);
        const std::string snapshot = snapshots.back();
        {
            std::fstream f(dir / snapshot, std::ios::in | std::ios::out | std::ios::binary);
            f.seekg(1100);
            char c = 0;
            f.get(c);
            f.seekp(1100);
            f.put(static_cast<char>(c ^ 0x01));
        }
        CommandRun run = restore_in(dir, "--latest");
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK(run.output.find(snapshot) != std::string::npos);
    }
    SECTION("a missing segment is a gap, never skipped") {
        fs::path dir = copy("gap");
        cleanup.dirs.push_back(dir);
        fs::remove(dir / segments[1]);
        // Only the first snapshot: the restore must cross the missing segment.
        for (std::size_t i = 1; i < snapshots.size(); ++i) fs::remove(dir / snapshots[i]);
        CommandRun run = restore_in(dir, "--to-index " + std::to_string(last));
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK(run.output.find("gap") != std::string::npos);
        CHECK(run.output.find(segments[2]) != std::string::npos);
    }
    SECTION("an index past the archive's end") {
        fs::path dir = copy("short");
        cleanup.dirs.push_back(dir);
        CommandRun run = restore_in(dir, "--to-index " + std::to_string(last + 1));
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK(run.output.find("ends at index " + std::to_string(last)) != std::string::npos);
    }
}

TEST_CASE("restore --verify fails when a node's table differs from the archive",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 1;
    options.master_args = archive_args(archive.path(), 1000);
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    cluster.exec_ok(cluster.master(), "CREATE TABLE other (id INTEGER PRIMARY KEY)");
    for (int i = 0; i < 10; ++i)
        cluster.exec_ok(cluster.master(), "INSERT INTO t(v) VALUES (?)", json::array{i});
    cluster.wait_converged();

    cluster.replica(1).kill();
    tamper(cluster.database_path(1), "UPDATE t SET v = 'changed' WHERE id = 3");
    cluster.replica(1).start();
    cluster.replica(1).wait_ready();
    cluster.wait_converged();

    CommandRun good = restore("--verify --archive " + archive.path().string() + " --node " +
                              cluster.master().url());
    INFO(good.output);
    CHECK(good.exit_code == 0);
    CommandRun bad = restore("--verify --archive " + archive.path().string() + " --node " +
                             cluster.replica(1).url());
    INFO(bad.output);
    CHECK(bad.exit_code == 4);
    CHECK(bad.output.find("MISMATCH t") != std::string::npos);
    CHECK(bad.output.find("match    other") != std::string::npos);
}

TEST_CASE("the archive keeps up with writes and holds the master's log trimming back",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 1;
    options.master_args = archive_args(archive.path(), 200);
    // The master trims everything the replica has: only the archive holds it back.
    options.master_args.insert(options.master_args.end(), {"--log-retain", "0"});
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT)");

    Churn churn(cluster.master().url(), "u");
    // While writes flow, every index the master reports reaches the archive (within the
    // archive interval plus one segment's write; the wait is only a bound against hangs),
    // and the log never drops an entry the archive lacks.
    for (int sample = 0; sample < 15; ++sample) {
        json::object s = cluster.status(cluster.master());
        int64_t index = s.at("applied_index").to_number<int64_t>();
        int64_t first = s.at("log_first_index").to_number<int64_t>();
        int64_t archived = s.at("archive").as_object().at("archived_index").to_number<int64_t>();
        CHECK(first <= archived + 1);
        wait_archived(cluster, index);
        std::this_thread::sleep_for(50ms);
    }
    // --verify under these writes: it restores to the index the node's checksums were
    // taken at, so both sides are the database at one entry.
    for (Node* node : cluster.nodes()) {
        CommandRun verify =
            restore("--verify --archive " + archive.path().string() + " --node " + node->url());
        INFO(verify.output);
        CHECK(verify.exit_code == 0);
    }
    churn.stop();
    CHECK(churn.failures() == 0);
    int64_t last = cluster.master_index();
    wait_archived(cluster, last);
    json::object a = archive_status(cluster);
    CHECK(a.at("archived_index").to_number<int64_t>() == last);
    CHECK(a.at("last_error").as_string() == "");
    // Named files hold every entry up to the last one, snapshots or not.
    check_segments_contiguous(archive.path(), last);
}

TEST_CASE("archive retention deletes old files and the latest point still restores",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 0;
    options.master_args = archive_args(archive.path(), 25, /*retention=*/2);
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (int round = 0; round < 6; ++round) {
        for (int i = 0; i < 30; ++i)
            cluster.exec_ok(cluster.master(), "INSERT INTO t(v) VALUES (?)", json::array{i});
        cluster.exec_ok(cluster.master(), "DELETE FROM t WHERE id % 5 = ?", json::array{round});
        wait_archived(cluster, cluster.master_index());
    }
    int64_t last = cluster.master_index();
    wait_archived(cluster, last);
    Sums want = from_checksum_body(cluster.checksums(cluster.master()));

    // Once the writes stop, the snapshot thread's last retention pass leaves two
    // snapshots and only segments that end after the older one (polled: a pass may be
    // under way; the deadline only bounds a hang).
    auto settled = [&] {
        std::vector<std::string> snapshots = archive_files(archive.path(), "snapshot-");
        if (snapshots.size() != 2) return false;
        int64_t oldest = std::stoll(snapshots.front().substr(9, 12));
        for (const auto& name : archive_files(archive.path(), "log-"))
            if (std::stoll(name.substr(17, 12)) <= oldest) return false;
        return true;
    };
    auto deadline = Clock::now() + kApplyTimeout;
    while (!settled() && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
    std::vector<std::string> snapshots = archive_files(archive.path(), "snapshot-");
    INFO("snapshots: " << snapshots.size());
    REQUIRE(snapshots.size() == 2);
    CHECK(snapshots.front() != "snapshot-000000000000.db.zst");
    int64_t oldest = std::stoll(snapshots.front().substr(9, 12));
    for (const auto& name : archive_files(archive.path(), "log-"))
        CHECK(std::stoll(name.substr(17, 12)) > oldest);

    fs::path out = archive.path().parent_path() / ("restored-" + random_hex(8) + ".db");
    CommandRun run = restore("--archive " + archive.path().string() +
                             " --latest --keep-log --out " + out.string());
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    Sums got = checksums_of_file(out);
    fs::remove(out);
    CHECK(got.index == want.index);
    CHECK(got.tables == want.tables);
    // A point before the oldest snapshot kept is gone, and said so.
    CommandRun gone =
        restore("--archive " + archive.path().string() + " --to-index 1 --out " + out.string());
    CHECK(gone.exit_code == 2);
    CHECK(gone.output.find("no snapshot") != std::string::npos);
}

TEST_CASE("a second master cannot write into an archive another master holds",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 0;
    options.master_args = archive_args(archive.path(), 1000);
    Cluster first(options);
    first.exec_ok(first.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    wait_archived(first, first.master_index());

    Cluster second(options);  // another cluster's master, pointed at the same directory
    second.exec_ok(second.master(), "CREATE TABLE other (id INTEGER PRIMARY KEY)");
    auto deadline = Clock::now() + kApplyTimeout;
    std::string error;
    while (error.empty() && Clock::now() < deadline) {
        error = std::string(archive_status(second).at("last_error").as_string());
        std::this_thread::sleep_for(50ms);
    }
    CHECK(error.find("lock") != std::string::npos);
    CHECK(archive_status(second).at("archived_index").to_number<int64_t>() == 0);
    // The first master goes on archiving.
    int64_t index = first.exec_ok(first.master(), "INSERT INTO t VALUES (1)");
    wait_archived(first, index);
    CommandRun verify = restore("--verify --archive " + archive.path().string() + " --node " +
                                first.master().url());
    INFO(verify.output);
    CHECK(verify.exit_code == 0);
}

TEST_CASE("a replica promoted to master continues the archive of the master it replaces",
          "[integration][archive][failover]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 2;
    options.peers = true;
    // Every node is configured with the archive; only the master of the moment writes it.
    options.master_args = archive_args(archive.path(), 40);
    options.replica_args = archive_args(archive.path(), 40);
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (int i = 0; i < 50; ++i)
        cluster.exec_ok(cluster.master(), "INSERT INTO t(v) VALUES (?)", json::array{i},
                        json::object{{"ack", "all"}});
    cluster.exec_ok(cluster.master(), "DELETE FROM t WHERE id % 3 = 0", json::array{},
                    json::object{{"ack", "all"}});
    Sums before = from_checksum_body(cluster.checksums(cluster.master()));
    cluster.wait_converged();

    // The master dies, maybe before archiving its last entries: the new one archives them.
    cluster.master().kill();
    NodeClient client = cluster.client(cluster.replica(1));
    Response promoted = client.request(
        boost::beast::http::verb::post, "/_cluster/promote", "{}",
        {{"X-Sqlrep-Token", cluster.token()}, {"Content-Type", "application/json"}}, 15s);
    INFO("promote: " << promoted.describe());
    REQUIRE(promoted.ok());
    int64_t term = promoted.body.as_object().at("term").to_number<int64_t>();

    int64_t last = 0;
    for (int i = 0; i < 30; ++i)
        last = cluster.exec_ok(cluster.replica(1), "UPDATE t SET v = v || '.' WHERE id % 5 = ?",
                               json::array{i % 5});
    auto deadline = Clock::now() + kApplyTimeout;
    json::object a;
    for (;;) {
        a = cluster.status(cluster.replica(1)).at("archive").as_object();
        if (a.at("archived_index").to_number<int64_t>() >= last) break;
        INFO("new master's archive: " << json::serialize(a));
        REQUIRE(Clock::now() < deadline);
        std::this_thread::sleep_for(20ms);
    }
    CHECK(a.at("last_error").as_string() == "");
    check_segments_contiguous(archive.path(), a.at("archived_index").to_number<int64_t>());
    std::ifstream term_file(archive.path() / "archive.term");
    int64_t recorded = 0;
    term_file >> recorded;
    CHECK(recorded == term);

    // One history across both masters: a point before the failover and the latest point.
    fs::path out = archive.path().parent_path() / ("restored-" + random_hex(8) + ".db");
    CommandRun run = restore("--archive " + archive.path().string() + " --to-index " +
                             std::to_string(before.index) + " --keep-log --out " + out.string());
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    Sums got = checksums_of_file(out);
    fs::remove(out);
    CHECK(got.tables == before.tables);
    CommandRun verify = restore("--verify --archive " + archive.path().string() + " --node " +
                                cluster.replica(1).url());
    INFO(verify.output);
    CHECK(verify.exit_code == 0);
}

TEST_CASE("a master moves archive files its own log never had aside instead of mixing histories",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 0;
    options.master_args = archive_args(archive.path(), 1000);
    std::vector<std::string> first_files;
    {
        Cluster first(options);
        first.exec_ok(first.master(), "CREATE TABLE gone (id INTEGER PRIMARY KEY)");
        for (int i = 0; i < 10; ++i)
            first.exec_ok(first.master(), "INSERT INTO gone VALUES (NULL)");
        wait_archived(first, first.master_index());
        first_files = archive_files(archive.path(), "log-");
    }  // killed: its lock is released, its files stay

    // Another history (a new cluster, or a master that never got those entries) takes the
    // directory over.
    Cluster second(options);
    second.exec_ok(second.master(), "CREATE TABLE kept (id INTEGER PRIMARY KEY, v TEXT)");
    for (int i = 0; i < 5; ++i)
        second.exec_ok(second.master(), "INSERT INTO kept(v) VALUES (?)", json::array{i});
    wait_archived(second, second.master_index());
    CHECK(archive_status(second).at("last_error").as_string() == "");
    REQUIRE(fs::is_directory(archive.path() / "abandoned"));
    for (const auto& name : first_files) {
        INFO(name);
        CHECK(fs::exists(archive.path() / "abandoned" / name));
    }

    Sums want = from_checksum_body(second.checksums(second.master()));
    fs::path out = archive.path().parent_path() / ("restored-" + random_hex(8) + ".db");
    CommandRun run = restore("--archive " + archive.path().string() +
                             " --latest --keep-log --out " + out.string());
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    Sums got = checksums_of_file(out);
    fs::remove(out);
    CHECK(got.index == want.index);
    CHECK(got.tables == want.tables);
    CHECK(got.tables.count("gone") == 0);
}

TEST_CASE("a master restarted over a damaged last archive file sets it aside and archives again",
          "[integration][archive]") {
    TempDir archive("sqlrep-archive-");
    ClusterOptions options;
    options.replicas = 0;
    options.master_args = archive_args(archive.path(), 1000);
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (int i = 0; i < 20; ++i)
        cluster.exec_ok(cluster.master(), "INSERT INTO t(v) VALUES (?)", json::array{i});
    wait_archived(cluster, cluster.master_index());
    cluster.master().kill();
    std::vector<std::string> segments = archive_files(archive.path(), "log-");
    REQUIRE_FALSE(segments.empty());
    const std::string damaged = segments.back();
    fs::resize_file(archive.path() / damaged, fs::file_size(archive.path() / damaged) / 2);

    cluster.master().start();
    cluster.master().wait_ready();
    for (int i = 0; i < 5; ++i)
        cluster.exec_ok(cluster.master(), "UPDATE t SET v = v || '+' WHERE id = ?",
                        json::array{i + 1});
    int64_t last = cluster.master_index();
    wait_archived(cluster, last);
    CHECK(fs::exists(archive.path() / "damaged" / damaged));
    check_segments_contiguous(archive.path(), last);

    Sums want = from_checksum_body(cluster.checksums(cluster.master()));
    fs::path out = archive.path().parent_path() / ("restored-" + random_hex(8) + ".db");
    CommandRun run = restore("--archive " + archive.path().string() + " --to-index " +
                             std::to_string(last) + " --keep-log --out " + out.string());
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    Sums got = checksums_of_file(out);
    fs::remove(out);
    CHECK(got.tables == want.tables);
}
