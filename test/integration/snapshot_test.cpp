// Snapshots, log trimming and divergence: a replica behind a trimmed log, a replica whose
// files were deleted, a replica whose data was changed behind sqlrep's back, a snapshot
// transfer torn half way, and a paused master seen through a replica.

#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "acked_writer.hpp"
#include "cluster.hpp"
#include "io_shim_env.hpp"
#include "tcp_proxy.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;

const char* kTable = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL)";

// Direct access to a node's SQLite file, as an operator (or a bug) would do it behind
// sqlrep's back. Not through sqlrep: no VFS, no authorizer.
class SqliteFile {
  public:
    SqliteFile(const std::string& path, bool read_only) {
        int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
        if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
            std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw std::runtime_error("cannot open " + path + ": " + err);
        }
        sqlite3_busy_timeout(db_, 5000);
    }
    ~SqliteFile() { sqlite3_close(db_); }
    SqliteFile(const SqliteFile&) = delete;
    SqliteFile& operator=(const SqliteFile&) = delete;

    // Runs `sql`; returns the rows it changed.
    int exec(const std::string& sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string what = err ? err : "unknown error";
            sqlite3_free(err);
            throw std::runtime_error("sqlite3_exec \"" + sql + "\": " + what);
        }
        return sqlite3_changes(db_);
    }

    // The first column of the first row as an integer (0 for NULL or no row).
    int64_t scalar(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
            throw std::runtime_error("prepare \"" + sql + "\": " + sqlite3_errmsg(db_));
        int64_t value = 0;
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            throw std::runtime_error("step \"" + sql + "\": " + sqlite3_errmsg(db_));
        return value;
    }

  private:
    sqlite3* db_ = nullptr;
};

// The oldest entry a node's log still holds, read from its file while it runs.
int64_t oldest_log_index(Cluster& c, int node_id) {
    SqliteFile file(c.database_path(node_id), true);
    return file.scalar("SELECT min(idx) FROM _sqlrep_log");
}

// `count` single-row INSERTs into t through `node` from `threads` concurrent clients
// (one entry each). Throws on the first failure.
void write_many(Node& node, int count, int threads = 4, const std::string& ack = "quorum") {
    std::atomic<int> next{0};
    std::mutex mutex;
    std::string first_error;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            try {
                NodeClient client(node.url());
                for (int i = next++; i < count; i = next++) {
                    Response r = client.exec("INSERT INTO t(v) VALUES (?)",
                                             json::array{"row-" + random_hex(12)},
                                             json::object{{"ack", ack}});
                    if (!r.ok()) throw std::runtime_error(r.describe());
                }
            } catch (const std::exception& e) {
                std::lock_guard lock(mutex);
                if (first_error.empty()) first_error = e.what();
                next = count;
            }
        });
    }
    for (auto& t : pool) t.join();
    if (!first_error.empty())
        throw std::runtime_error(node.name() + ": a write failed: " + first_error);
}

// Writes (one entry at a time) until the node's log no longer holds entry 1, which shows
// that it trimmed; trimming runs between write groups, so it needs writes to happen.
// Returns the oldest index kept.
int64_t wait_trimmed(Cluster& c, int node_id, std::chrono::milliseconds timeout = 60s) {
    auto deadline = Clock::now() + timeout;
    int64_t oldest = 0;
    while (Clock::now() < deadline) {
        oldest = oldest_log_index(c, node_id);
        if (oldest > 1) return oldest;
        c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('nudge')");
        std::this_thread::sleep_for(200ms);
    }
    throw std::runtime_error("node " + std::to_string(node_id) +
                             " never trimmed its log: oldest index still " +
                             std::to_string(oldest));
}

int64_t int_of(const json::object& o, const char* name) {
    const auto* v = o.if_contains(name);
    if (!v || !v->is_int64()) return -1;
    return v->as_int64();
}

std::string string_of(const json::object& o, const char* name) {
    const auto* v = o.if_contains(name);
    if (!v || !v->is_string()) return "";
    return std::string(v->as_string());
}

// A replica that serves, follows, and is at the master's index. Right after installing a
// snapshot a replica reconnects to stream from the snapshot's index, so it may say
// "connecting" for a moment first: give it a bounded while.
void check_following_at_master_index(Cluster& c, int id) {
    json::object s = c.status(c.replica(id));
    for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
        if (string_of(s, "state") == "following" && int_of(s, "applied_index") == c.master_index())
            break;
        std::this_thread::sleep_for(20ms);
        s = c.status(c.replica(id));
    }
    INFO("replica " << id << " /status: " << json::serialize(s));
    CHECK(string_of(s, "state") == "following");
    CHECK(int_of(s, "applied_index") == c.master_index());
}

}  // namespace

TEST_CASE("a wiped replica behind the master's trimmed log comes back identical through a snapshot",
          "[integration][snapshot]") {
    ClusterOptions options;
    options.master_args = {"--log-retain", "0"};
    options.replica_args = {"--log-retain", "0"};
    Cluster c(options);
    c.exec_ok(c.master(), kTable);

    // More than three trim steps' worth of entries, all acked by both replicas.
    write_many(c.master(), 3200);
    c.wait_converged();
    int64_t master_oldest = wait_trimmed(c, 0);
    INFO("master's oldest log index after 3200 writes: " << master_oldest);
    CHECK(master_oldest > 1000);
    // A replica trims its own log likewise.
    int64_t replica_oldest = wait_trimmed(c, 1);
    INFO("replica 1's oldest log index: " << replica_oldest);
    CHECK(replica_oldest > 1);

    c.replica(2).kill();
    c.wipe_files(2);
    write_many(c.master(), 300);
    // The wiped replica starts from index 0, which the master no longer has.
    REQUIRE(oldest_log_index(c, 0) > 1);

    c.replica(2).start();
    c.replica(2).wait_ready();
    c.wait_converged(90s);
    check_following_at_master_index(c, 2);
    json::object s = c.status(c.replica(2));
    INFO("replica 2 /status: " << json::serialize(s));
    CHECK(int_of(s, "resyncs") >= 1);
    c.check_identical("SELECT count(*), max(id), sum(length(v)) FROM t");
    c.check_same_checksums();

    // It follows on from the snapshot: a write through it reaches everyone.
    int64_t idx = c.exec_ok(c.replica(2), "INSERT INTO t(v) VALUES ('after snapshot')");
    c.wait_all_applied(idx);
    c.check_identical("SELECT id, v FROM t ORDER BY id DESC LIMIT 5");
    c.check_same_checksums();
}

TEST_CASE("a replica whose files were deleted while it was stopped catches up identically",
          "[integration][snapshot]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    write_many(c.master(), 300);
    c.wait_converged();

    ExitInfo e = c.replica(1).terminate();
    INFO("replica 1 on SIGTERM: " << e.describe());
    CHECK(e.exited);
    CHECK(e.code == 0);
    c.wipe_files(1);
    write_many(c.replica(2), 100);

    c.replica(1).start();
    c.replica(1).wait_ready();
    c.wait_converged(60s);
    check_following_at_master_index(c, 1);
    c.check_identical("SELECT id, v FROM t ORDER BY id");
    c.check_same_checksums();

    int64_t idx = c.exec_ok(c.replica(1), "INSERT INTO t(v) VALUES ('after wipe')");
    c.wait_all_applied(idx);
    c.check_identical("SELECT id, v FROM t ORDER BY id");
}

namespace {

// Fills t with `rows` rows everywhere, then changes replica 1's file behind sqlrep's back
// with `tamper` (one row), while it is stopped, and lets it follow again.
void fill_and_tamper(Cluster& c, int rows, const std::string& tamper) {
    c.exec_ok(c.master(), kTable);
    for (int i = 1; i <= rows; ++i)
        c.exec_ok(c.master(), "INSERT INTO t(id, v) VALUES (?, ?)",
                  json::array{i, "v" + std::to_string(i)});
    c.wait_converged();
    ExitInfo e = c.replica(1).terminate();
    INFO("replica 1 on SIGTERM: " << e.describe());
    REQUIRE(e.exited);
    {
        SqliteFile file(c.database_path(1), false);
        REQUIRE(file.exec(tamper) == 1);
    }
    c.replica(1).start();
    c.replica(1).wait_ready();
    c.wait_converged();
}

}  // namespace

TEST_CASE(
    "a replica whose data was changed behind sqlrep's back detects the divergence when an entry "
    "touches that row and resyncs to the master's data",
    "[integration][snapshot]") {
    // Two ways an entry can meet the missing row: UPDATE (0 rows changed instead of 1) and
    // DELETE of two rows (1 instead of 2).
    std::string touching_write;
    SECTION("an UPDATE of the row") { touching_write = "UPDATE t SET v = 'changed' WHERE id = 7"; }
    SECTION("a DELETE of the row and another") {
        touching_write = "DELETE FROM t WHERE id IN (7, 8)";
    }

    Cluster c;
    fill_and_tamper(c, 20, "DELETE FROM t WHERE id = 7");

    int64_t idx = c.exec_ok(c.master(), touching_write);

    // Poll replica 1 until it has diverged and resynced.
    bool saw_diverged = false;
    int64_t resyncs = 0;
    std::string last_error;
    std::string last_status;
    auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline) {
        try {
            json::object s = c.status(c.replica(1));
            last_status = json::serialize(s);
            if (string_of(s, "state") == "diverged") saw_diverged = true;
            if (!string_of(s, "last_error").empty()) last_error = string_of(s, "last_error");
            resyncs = int_of(s, "resyncs");
            if (resyncs >= 1 && string_of(s, "state") == "following" &&
                int_of(s, "applied_index") >= idx)
                break;
        } catch (const std::exception& ex) {
            last_status = ex.what();
        }
        std::this_thread::sleep_for(20ms);
    }
    INFO("replica 1 last /status: " << last_status << "; saw diverged: " << saw_diverged
                                    << "; last_error: " << last_error);
    CHECK((saw_diverged || resyncs >= 1));
    CHECK(resyncs >= 1);

    c.wait_converged(60s);
    check_following_at_master_index(c, 1);
    json::array rows = c.check_identical("SELECT id, v FROM t ORDER BY id");
    CHECK(rows.size() == (touching_write.rfind("DELETE", 0) == 0 ? 18u : 20u));
    c.check_same_checksums();
}

TEST_CASE(
    "a replica whose row holds another value than the master's is caught at the entry that "
    "touches it, answers no reads until it has resynced, and then holds the master's data",
    "[integration][snapshot]") {
    Cluster c;
    // The same number of rows, one value different: a row count would not notice.
    fill_and_tamper(c, 10, "UPDATE t SET v = 'tampered' WHERE id = 7");

    // The master is paused right after the touching write is acknowledged (by replica 2),
    // so replica 1, which diverges on it, cannot fetch its snapshot yet: it must refuse
    // reads meanwhile, with the reason.
    int64_t idx = c.exec_ok(c.master(), "UPDATE t SET v = v || '!' WHERE id = 7");
    c.master().stop();
    std::string last_status;
    bool diverged = false;
    for (auto deadline = Clock::now() + 20s; Clock::now() < deadline && !diverged;) {
        json::object s = c.status(c.replica(1));
        last_status = json::serialize(s);
        diverged = string_of(s, "state") == "diverged";
        if (!diverged) std::this_thread::sleep_for(10ms);
    }
    INFO("replica 1 /status: " << last_status);
    REQUIRE(diverged);
    CHECK(last_status.find("entry " + std::to_string(idx)) != std::string::npos);
    Response read = c.query(c.replica(1), "SELECT v FROM t WHERE id = 7");
    INFO(read.describe());
    CHECK(read.status == 503);
    CHECK(read.error().find("diverged") != std::string::npos);
    Response write = c.exec(c.replica(1), "INSERT INTO t(v) VALUES ('while diverged')");
    INFO(write.describe());
    CHECK(write.status == 503);
    CHECK(write.error().find("diverged") != std::string::npos);
    CHECK(c.get(c.replica(1), "/health").status == 200);  // up, only not serving data

    c.master().resume();
    c.wait_converged(60s);
    check_following_at_master_index(c, 1);
    json::array rows = c.check_identical("SELECT id, v FROM t ORDER BY id");
    CHECK(json::serialize(rows).find("v7!") != std::string::npos);
    c.check_same_checksums();
}

TEST_CASE("a snapshot transfer cut half way is retried and the replica ends identical",
          "[integration][snapshot][slow]") {
    ClusterOptions options;
    options.master_args = {"--log-retain", "0"};
    options.replica_args = {"--log-retain", "0"};
    Cluster c(options);
    c.exec_ok(c.master(), kTable);
    c.exec_ok(c.master(), "CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB NOT NULL)");

    // About 40 MB of data, so the snapshot takes many frames; then enough small entries
    // for the master to trim, so the new replica cannot catch up from the log.
    constexpr int kBigEntries = 40;
    for (int i = 0; i < kBigEntries; ++i)
        c.exec_ok(c.master(), "INSERT INTO big(b) VALUES (randomblob(1048576))", nullptr,
                  json::object{{"ack", "all"}});
    write_many(c.master(), 1200);
    c.wait_converged(90s);
    REQUIRE(wait_trimmed(c, 0) > 1);

    // Replica 2 becomes a new, empty replica that reaches the master through the proxy.
    c.replica(2).kill();
    c.wipe_files(2);
    TcpProxy proxy(c.master().port());
    constexpr uint64_t kCutAfter = 12 * 1024 * 1024;  // past any entries batch (4 MiB)
    proxy.cut_once_after(kCutAfter);
    c.replica(2).set_arg("--master", proxy.url());
    c.replica(2).start();
    c.replica(2).wait_ready();

    c.wait_converged(120s);
    INFO("proxy: connections " << proxy.connections() << ", cuts " << proxy.cuts()
                               << ", bytes to the replica " << proxy.bytes_to_client());
    CHECK(proxy.cuts() == 1);
    CHECK(proxy.bytes_to_client() > 2 * kCutAfter);  // the whole snapshot came after the cut
    check_following_at_master_index(c, 2);
    json::object s = c.status(c.replica(2));
    INFO("replica 2 /status: " << json::serialize(s));
    CHECK(int_of(s, "resyncs") >= 1);
    c.check_identical("SELECT count(*), sum(length(b)) FROM big");
    c.check_identical("SELECT count(*), max(id) FROM t");
    c.check_same_checksums();

    // And it follows through the proxy from then on.
    int64_t idx = c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('after torn snapshot')");
    c.wait_all_applied(idx);
    c.check_same_checksums();
}

TEST_CASE(
    "a write forwarded through a replica while the master is paused fails with 503 or 504 "
    "in bounded time, and reads go on",
    "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    int64_t before = c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('before')");
    c.wait_all_applied(before);

    c.master().stop();
    for (int id = 1; id <= c.replica_count(); ++id) {
        NodeClient client(c.replica(id).url());
        auto start = Clock::now();
        Response w = client.exec("INSERT INTO t(v) VALUES (?)", json::array{"paused"}, {}, 60s);
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        INFO("replica " << id << " write with the master paused: " << w.describe() << " after "
                        << elapsed.count() << " ms");
        CHECK((w.status == 503 || w.status == 504));
        CHECK_FALSE(w.ok());
        CHECK_FALSE(w.error().empty());
        CHECK(elapsed < 30s);

        Response r = client.query("SELECT v FROM t WHERE v = 'before'", nullptr, {}, 10s);
        INFO("replica " << id << " read with the master paused: " << r.describe());
        CHECK(r.ok());
    }
    c.master().resume();

    int64_t idx = c.exec_ok(c.replica(1), "INSERT INTO t(v) VALUES ('after')");
    c.wait_all_applied(idx);
    c.wait_converged();
    c.check_identical("SELECT id, v FROM t ORDER BY id");
    c.check_same_checksums();
}

// The master takes longer to copy its database than either side's stream timeout (5 s on
// the replica, 10 s on the master; as it does with gigabytes under write load), here
// because every file SQLite opens for the snapshot takes 4 s to open (io_shim.cpp; about
// 12 s in all); meanwhile clients keep writing. The new replica must get its snapshot at
// the first attempt, not drop the stream and ask again for ever.
TEST_CASE(
    "a new replica joins under writes though the master's snapshot takes longer than the "
    "stream's idle timeouts",
    "[integration][snapshot][slow]") {
    ClusterOptions options;
    options.master_args = {"--log-retain", "0"};
    options.replica_args = {"--log-retain", "0"};
    options.master_env = io_shim_env();
    options.master_env.push_back("SQLREP_SLOW_OPEN_MATCH=.tmp-snapshot-");
    options.master_env.push_back("SQLREP_SLOW_OPEN_MS=4000");
    Cluster c(options);
    c.exec_ok(c.master(), kTable);
    c.exec_ok(c.master(), "CREATE TABLE w (writer TEXT, seq INTEGER, val TEXT)");
    write_many(c.master(), 1200);
    c.wait_converged();
    REQUIRE(wait_trimmed(c, 0) > 1);
    c.replica(2).kill();
    c.wipe_files(2);

    AckedWriter writer("w1", c.master().url(), "w");
    writer.start();
    auto started = Clock::now();
    c.replica(2).start();
    c.replica(2).wait_ready();
    json::object s;
    for (auto deadline = Clock::now() + 90s; Clock::now() < deadline;) {
        s = c.status(c.replica(2));
        if (int_of(s, "resyncs") >= 1 && string_of(s, "state") == "following") break;
        std::this_thread::sleep_for(100ms);
    }
    auto joined = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started);
    int64_t during = writer.acked_count();
    writer.finish();
    INFO("replica 2 /status: " << json::serialize(s) << "; joined after " << joined.count()
                               << " s; writes acked meanwhile: " << during);
    REQUIRE(int_of(s, "resyncs") >= 1);
    CHECK(int_of(s, "resyncs") == 1);  // one snapshot, taken at the first attempt
    CHECK(writer.failure_count() == 0);
    CHECK(during > 0);

    c.wait_converged(60s);
    c.check_identical("SELECT count(*), max(seq) FROM w");
    c.check_same_checksums();
}
