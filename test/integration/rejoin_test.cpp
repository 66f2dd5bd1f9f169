// A master that comes back behind its replicas never wipes them. The case: a
// master under --sync normal loses the unsynced tail of its log in a power cut, restarts
// in the same term, and finds replicas holding entries it no longer has. Before terms
// were compared, it called them "ahead" and they installed its snapshot, losing writes
// they had acknowledged. Here the power cut is played by putting back a copy of the
// master's files taken earlier (same term, shorter log).

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace fs = std::filesystem;

void copy_database(const std::string& from, const std::string& to) {
    for (const char* suffix : {"", "-wal"}) {
        fs::remove(to + suffix);
        if (fs::exists(from + suffix)) fs::copy_file(from + suffix, to + suffix);
    }
}

}  // namespace

TEST_CASE("a master restarted behind its replicas takes no writes and never wipes them",
          "[integration][failover]") {
    ClusterOptions options;
    options.ack = "all";
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    for (int i = 0; i < 5; ++i) c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('early')");

    // The master's files as a power cut would leave them: without what follows.
    c.master().terminate();
    std::string saved = c.dir() + "/master-before.db";
    copy_database(c.database_path(0), saved);
    c.master().start();
    c.master().wait_ready();
    int64_t acked = 0;
    for (int i = 0; i < 5; ++i)
        acked = c.exec_ok(c.master(), "INSERT INTO t(v) VALUES ('acknowledged by all')");
    c.wait_all_applied(acked);
    json::object before = c.checksums(c.replica(1));

    c.master().kill();
    copy_database(saved, c.database_path(0));
    c.master().start();
    c.master().wait_ready();

    // The replicas' handshakes show entries of the master's own term that it lacks.
    auto deadline = Clock::now() + kApplyTimeout;
    json::object status;
    while (true) {
        status = c.status(c.master());
        if (status.at("state") == json::value("not taking writes")) break;
        INFO(json::serialize(status));
        REQUIRE(Clock::now() < deadline);
        std::this_thread::sleep_for(20ms);
    }
    INFO(json::serialize(status));
    std::string reason(status.at("last_error").as_string());
    CHECK(reason.find("behind") != std::string::npos);
    CHECK(reason.find("promote") != std::string::npos);

    Response refused = c.exec(c.master(), "INSERT INTO t(v) VALUES ('after the power cut')");
    CHECK(refused.status == 503);
    CHECK(refused.error().find("promote") != std::string::npos);

    // The replicas keep every acknowledged row, and were never sent a snapshot.
    for (int id : {1, 2}) {
        json::object s = c.status(c.replica(id));
        INFO("replica " << id << ": " << json::serialize(s));
        CHECK(s.at("applied_index").as_int64() == acked);
        CHECK(s.at("snapshots_installed").as_int64() == 0);
        CHECK(c.checksums(c.replica(id)) == before);
        CHECK(c.rows(c.replica(id), "SELECT count(*) FROM t WHERE v = 'acknowledged by all'")
                  .at(0)
                  .as_array()
                  .at(0) == json::value(5));
    }
}
