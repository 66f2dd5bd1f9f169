// One failed fsync of the master's WAL, injected by io_shim.cpp (LD_PRELOAD): the
// write being committed fails, the acks replicas sent for the entries the master then gave
// up do not count for the later entries that re-use those indexes, and every node ends
// with the same data.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "io_shim_env.hpp"

using namespace sqlrep::test;

namespace {

// The shim's trigger and release files, in a directory of the test's own: the master's
// environment names them before the cluster (and its directory) exists.
class ShimFiles {
  public:
    ShimFiles() {
        char pattern[] = "/tmp/sqlrep-fsync-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
    }
    ~ShimFiles() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    ShimFiles(const ShimFiles&) = delete;
    ShimFiles& operator=(const ShimFiles&) = delete;

    std::string trigger() const { return dir_ + "/fail-next-wal-fsync"; }
    std::string release() const { return dir_ + "/release-failing-fsync"; }

    // The master's environment: the shim and its files.
    std::vector<std::string> master_env() const {
        std::vector<std::string> env = io_shim_env();
        env.push_back("SQLREP_FAIL_FSYNC_TRIGGER=" + trigger());
        env.push_back("SQLREP_FAIL_FSYNC_RELEASE=" + release());
        return env;
    }

  private:
    std::string dir_;
};

void touch(const std::string& path) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot create " + path);
}

// Polls `done` until it holds; throws naming `what` after kApplyTimeout.
template <typename Fn>
void wait_until(Fn done, const std::string& what) {
    const auto deadline = Clock::now() + kApplyTimeout;
    while (!done()) {
        if (Clock::now() > deadline) throw std::runtime_error("timed out waiting until " + what);
        std::this_thread::sleep_for(20ms);
    }
}

// Every replica's acked index in the master's /status.
std::vector<int64_t> acked_indexes(Cluster& c) {
    std::vector<int64_t> out;
    const json::object status = c.status(c.master());
    for (const auto& r : status.at("replicas").as_array())
        out.push_back(r.as_object().at("acked_index").as_int64());
    return out;
}

// Whether every replica's /checksum (index and tables) is the master's. A replica that is
// resyncing may refuse to answer: not yet.
bool same_checksums_as_master(Cluster& c) {
    const json::object expected = c.checksums(c.master());
    for (int id = 1; id <= c.replica_count(); ++id) {
        Response got = c.get(c.replica(id), "/checksum");
        if (!got.ok() || got.body.at("index") != expected.at("index") ||
            got.body.at("tables") != expected.at("tables"))
            return false;
    }
    return true;
}

// How many replicas hold the row whose v is `value` (read locally on each).
int replicas_holding(Cluster& c, const std::string& value) {
    int holding = 0;
    for (int id = 1; id <= c.replica_count(); ++id) {
        json::array rows = c.rows(c.replica(id), "SELECT count(*) FROM t WHERE v = ?",
                                  json::array{json::value(value)});
        holding += rows.at(0).as_array().at(0).as_int64() == 1;
    }
    return holding;
}

}  // namespace

TEST_CASE("a failed fsync on the master leaves no stale ack behind", "[integration]") {
    ShimFiles shim;
    ClusterOptions options;
    options.replicas = 2;
    options.ack = "quorum";
    // The write at the re-used index below must time out: keep that short.
    options.master_args = {"--ack-timeout-ms", "2000"};
    options.master_env = shim.master_env();
    Cluster c(options);

    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('before')");
    c.wait_converged();
    const int64_t kept = c.master_index();

    // The next WAL fsync fails, once the test releases it. The group is streamed before
    // that fsync, so both replicas apply and ack the entry the master is about to lose.
    touch(shim.trigger());
    Response lost;
    std::string lost_error;
    std::thread writer([&] {
        try {
            NodeClient client(c.master().url());
            lost = client.exec("INSERT INTO t(v) VALUES ('lost')");
        } catch (const std::exception& e) {
            lost_error = e.what();
        }
    });
    struct Join {
        std::thread& t;
        ~Join() {
            if (t.joinable()) t.join();
        }
    } join{writer};
    try {
        wait_until(
            [&] {
                for (int64_t acked : acked_indexes(c))
                    if (acked < kept + 1) return false;
                return true;
            },
            "both replicas ack index " + std::to_string(kept + 1) + " during the master's fsync");
    } catch (...) {
        touch(shim.release());  // never leave the writer thread waiting
        throw;
    }
    CHECK_FALSE(std::filesystem::exists(shim.trigger()));  // the shim took that fsync

    // Nothing the replicas send from now on can count: whatever is acknowledged next is
    // acknowledged on what the master knew when the fsync failed.
    c.replica(1).stop();
    c.replica(2).stop();
    touch(shim.release());
    writer.join();
    INFO("the write during the failed fsync: " << lost.describe() << lost_error);
    CHECK(lost_error.empty());
    CHECK(lost.status == 503);
    CHECK(lost.error().find("could not commit") != std::string::npos);
    CHECK(c.master_index() == kept);
    for (int64_t acked : acked_indexes(c)) CHECK(acked <= kept);

    // The next entry re-uses index kept+1, which both replicas acked for the lost one.
    Response reused = c.exec(c.master(), "INSERT INTO t(v) VALUES ('after')");
    INFO("the write at the re-used index: " << reused.describe());
    CHECK(reused.status == 504);
    CHECK(reused.error().find("at index " + std::to_string(kept + 1) + " ") != std::string::npos);

    // The replicas find they hold an entry the master gave up, take a snapshot and follow.
    // They are at the master's index already (with the lost entry there), so wait for the
    // same data rather than for the index.
    c.replica(1).resume();
    c.replica(2).resume();
    wait_until([&] { return same_checksums_as_master(c); },
               "every replica holds the master's data");
    c.check_same_checksums();
    json::array rows = c.check_identical("SELECT id, v FROM t ORDER BY id");
    CHECK(rows == json::array{json::array{1, "before"}, json::array{2, "after"}});

    // From here on an acknowledged write is on as many replicas as its ack mode says.
    for (int i = 0; i < 5; ++i) {
        const std::string value = "quorum-" + std::to_string(i);
        c.exec_ok(c.master(), "INSERT INTO t(v) VALUES (?)", json::array{json::value(value)},
                  {{"ack", "quorum"}});
        CHECK(replicas_holding(c, value) >= 1);
    }
    c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('all')", nullptr, {{"ack", "all"}});
    CHECK(replicas_holding(c, "all") == 2);
    c.wait_converged();
    c.check_same_checksums();
}
