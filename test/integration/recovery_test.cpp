// Crashes and pauses: replicas killed with SIGKILL or paused with SIGSTOP catch up, a
// master killed with SIGKILL keeps every acknowledged write and is followed again, and
// nodes stopped with SIGTERM exit cleanly and come back with their data.

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "acked_writer.hpp"
#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;

const char* kTable =
    "CREATE TABLE acked (id INTEGER PRIMARY KEY AUTOINCREMENT, writer TEXT NOT NULL, "
    "seq INTEGER NOT NULL, val TEXT NOT NULL DEFAULT '', UNIQUE(writer, seq))";

// Waits (bounded) until the writers together have `target` acknowledged writes.
void wait_for_acks(const std::vector<AckedWriter*>& writers, int64_t target,
                   std::chrono::milliseconds timeout = 60s) {
    auto deadline = Clock::now() + timeout;
    while (true) {
        int64_t total = 0;
        for (auto* w : writers) total += w->acked_count();
        if (total >= target) return;
        if (Clock::now() >= deadline) {
            std::string msg = "writers got only " + std::to_string(total) + " of " +
                              std::to_string(target) + " acknowledgements";
            throw std::runtime_error(msg);
        }
        std::this_thread::sleep_for(10ms);
    }
}

int64_t total_acks(const std::vector<AckedWriter*>& writers) {
    int64_t total = 0;
    for (auto* w : writers) total += w->acked_count();
    return total;
}

// Checks that every acknowledged (writer, seq) is in `acked` on `node`.
void check_acked_present(Cluster& c, Node& node, const std::vector<AckedWriter*>& writers) {
    json::array rows = c.rows(node, "SELECT writer, seq FROM acked");
    std::set<std::pair<std::string, int64_t>> present;
    for (const auto& row : rows) {
        const auto& r = row.as_array();
        present.emplace(std::string(r.at(0).as_string()), r.at(1).as_int64());
    }
    std::size_t missing = 0;
    std::string first_missing;
    std::size_t checked = 0;
    for (auto* w : writers) {
        for (const AckedRow& row : w->acked()) {
            ++checked;
            if (!present.count({w->name(), row.seq})) {
                if (missing++ == 0) first_missing = w->name() + " seq " + std::to_string(row.seq);
            }
        }
    }
    INFO(node.name() << ": " << missing << " of " << checked
                     << " acknowledged writes missing; first: " << first_missing);
    CHECK(missing == 0);
    CHECK(checked > 0);
}

std::string first_failure(const std::vector<AckedWriter*>& writers) {
    for (auto* w : writers)
        if (!w->first_failure().empty()) return w->first_failure();
    return "none";
}

std::size_t failure_count(const std::vector<AckedWriter*>& writers) {
    std::size_t n = 0;
    for (auto* w : writers) n += static_cast<std::size_t>(w->failure_count());
    return n;
}

}  // namespace

TEST_CASE(
    "a replica killed with SIGKILL and restarted catches up, writes made while it was down "
    "included",
    "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    c.wait_converged();

    // Writers through the master and through the replica that stays up; quorum (2 of 3)
    // stays reachable throughout, so every write must succeed.
    AckedWriter via_master("via-master", c.master().url(), "acked");
    AckedWriter via_replica2("via-replica2", c.replica(2).url(), "acked");
    std::vector<AckedWriter*> writers{&via_master, &via_replica2};
    for (auto* w : writers) w->start();

    wait_for_acks(writers, 30);
    c.replica(1).kill();  // mid-stream: entries are arriving and being applied
    int64_t at_kill = total_acks(writers);
    wait_for_acks(writers, at_kill + 40);  // writes while replica 1 is down
    c.replica(1).restart();
    c.replica(1).wait_ready();
    wait_for_acks(writers, total_acks(writers) + 30);  // writes while it catches up
    for (auto* w : writers) w->finish();

    INFO("writer failures: " << failure_count(writers) << ", first: " << first_failure(writers));
    CHECK(failure_count(writers) == 0);
    c.wait_converged();
    for (Node* node : c.nodes()) check_acked_present(c, *node, writers);
    c.check_identical("SELECT id, writer, seq FROM acked ORDER BY id");
    c.check_same_checksums();
}

TEST_CASE("a replica paused with SIGSTOP does not block quorum writes and catches up after SIGCONT",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    c.wait_converged();

    c.replica(1).stop();
    int64_t last = 0;
    for (int i = 0; i < 30; ++i) {
        Node& via = (i % 2 == 0) ? c.master() : c.replica(2);
        last = c.exec_ok(via, "INSERT INTO acked(writer, seq) VALUES ('paused', ?)", json::array{i},
                         json::object{{"ack", "quorum"}});
    }
    // The master sees that replica 1 has not acknowledged what it could not receive.
    json::object status = c.status(c.master());
    INFO("master /status: " << json::serialize(status));
    bool found = false;
    for (const auto& r : status["replicas"].as_array()) {
        const auto& rep = r.as_object();
        if (rep.at("id") == json::value(1)) {
            found = true;
            CHECK(rep.at("acked_index").as_int64() < last);
        }
    }
    CHECK(found);

    c.replica(1).resume();
    c.wait_all_applied(last);
    json::array rows = c.check_identical("SELECT id, writer, seq FROM acked ORDER BY id");
    CHECK(rows.size() == 30);
    c.check_same_checksums();
}

TEST_CASE(
    "a master killed with SIGKILL and restarted keeps every acknowledged write and is "
    "followed again",
    "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    c.wait_converged();

    // Writers through every node; the master's writer alternates quorum and master acks.
    AckedWriter via_master("via-master", c.master().url(), "acked", {"quorum", "master"});
    AckedWriter via_replica1("via-replica1", c.replica(1).url(), "acked");
    AckedWriter via_replica2("via-replica2", c.replica(2).url(), "acked");
    std::vector<AckedWriter*> writers{&via_master, &via_replica1, &via_replica2};
    for (auto* w : writers) w->start();

    wait_for_acks(writers, 60);
    c.master().kill();  // writes are in flight
    for (auto* w : writers) w->finish();
    INFO("acknowledged before the kill: " << total_acks(writers)
                                          << ", failed: " << failure_count(writers));

    c.master().restart();
    c.master().wait_ready();

    // Nothing acknowledged is lost on the master.
    check_acked_present(c, c.master(), writers);

    // The replicas follow the restarted master: a new write reaches every replica.
    int64_t after = c.exec_ok(c.master(), "INSERT INTO acked(writer, seq) VALUES ('after', 0)",
                              nullptr, json::object{{"ack", "master"}});
    c.wait_all_applied(after);
    // And writes through every node work again, with quorum acks.
    for (int i = 1; i <= 6; ++i) {
        Node& via = *c.nodes()[static_cast<std::size_t>(i) % c.nodes().size()];
        c.exec_ok(via, "INSERT INTO acked(writer, seq) VALUES ('after', ?)", json::array{i},
                  json::object{{"ack", "quorum"}});
    }
    c.wait_converged();
    for (Node* node : c.nodes()) check_acked_present(c, *node, writers);
    json::array after_rows =
        c.rows(c.master(), "SELECT count(*) FROM acked WHERE writer = 'after'");
    CHECK(after_rows.at(0).as_array().at(0) == json::value(7));
    c.check_identical("SELECT id, writer, seq FROM acked ORDER BY id");
    c.check_same_checksums();
}

TEST_CASE("nodes stopped with SIGTERM exit cleanly and come back with their data",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    for (int i = 0; i < 10; ++i)
        c.exec_ok(*c.nodes()[static_cast<std::size_t>(i) % c.nodes().size()],
                  "INSERT INTO acked(writer, seq) VALUES ('term', ?)", json::array{i});
    c.wait_converged();
    json::array before = c.check_identical("SELECT id, writer, seq FROM acked ORDER BY id");

    for (int id = 1; id <= c.replica_count(); ++id) {
        ExitInfo e = c.replica(id).terminate();
        INFO("replica " << id << " " << e.describe());
        CHECK(e.exited);
        CHECK(e.code == 0);
    }
    ExitInfo e = c.master().terminate();
    INFO("master " << e.describe());
    CHECK(e.exited);
    CHECK(e.code == 0);

    c.master().start();
    c.master().wait_ready();
    for (int id = 1; id <= c.replica_count(); ++id) c.replica(id).start();
    for (int id = 1; id <= c.replica_count(); ++id) c.replica(id).wait_ready();
    int64_t idx = c.exec_ok(c.replica(1), "INSERT INTO acked(writer, seq) VALUES ('term', 99)");
    c.wait_all_applied(idx);
    json::array after = c.check_identical("SELECT id, writer, seq FROM acked ORDER BY id");
    REQUIRE(after.size() == before.size() + 1);
    for (std::size_t i = 0; i < before.size(); ++i) CHECK(after[i] == before[i]);
    c.check_same_checksums();
}

TEST_CASE(
    "replicas and the master killed one after another during writes converge without "
    "losing an acknowledged write",
    "[integration][slow]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    c.wait_converged();

    std::vector<std::unique_ptr<AckedWriter>> all_writers;
    std::vector<AckedWriter*> writers;
    for (int round = 0; round < 3; ++round) {
        // Fresh writers each round, through the master and replica 2 (replica 1 is the
        // one killed); their acknowledged writes accumulate in `writers`.
        auto wm = std::make_unique<AckedWriter>("r" + std::to_string(round) + "-master",
                                                c.master().url(), "acked");
        auto wr = std::make_unique<AckedWriter>("r" + std::to_string(round) + "-replica2",
                                                c.replica(2).url(), "acked");
        std::vector<AckedWriter*> round_writers{wm.get(), wr.get()};
        for (auto* w : round_writers) w->start();
        wait_for_acks(round_writers, 20);
        c.replica(1).kill();
        wait_for_acks(round_writers, total_acks(round_writers) + 20);
        c.master().kill();
        for (auto* w : round_writers) w->finish();
        c.master().restart();
        c.replica(1).restart();
        c.master().wait_ready();
        c.replica(1).wait_ready();
        for (auto* w : round_writers) writers.push_back(w);
        all_writers.push_back(std::move(wm));
        all_writers.push_back(std::move(wr));
        check_acked_present(c, c.master(), writers);
        int64_t idx = c.exec_ok(c.master(), "INSERT INTO acked(writer, seq) VALUES ('round', ?)",
                                json::array{round}, json::object{{"ack", "master"}});
        c.wait_all_applied(idx);
    }
    c.wait_converged();
    for (Node* node : c.nodes()) check_acked_present(c, *node, writers);
    c.check_identical("SELECT id, writer, seq FROM acked ORDER BY id");
    c.check_same_checksums();
}

TEST_CASE("a write through a replica while the master is down gets 503 and local reads go on",
          "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), kTable);
    c.exec_ok(c.master(), "INSERT INTO acked(writer, seq) VALUES ('before', 1)");
    c.wait_converged();

    c.master().kill();
    for (int id = 1; id <= c.replica_count(); ++id) {
        Response w = c.exec(c.replica(id), "INSERT INTO acked(writer, seq) VALUES ('down', ?)",
                            json::array{id});
        INFO("replica " << id << " write while the master is down: " << w.describe());
        CHECK(w.status == 503);
        CHECK_FALSE(w.ok());
        CHECK_FALSE(w.error().empty());
        Response r = c.query(c.replica(id), "SELECT writer, seq FROM acked ORDER BY id");
        INFO("replica " << id << " read while the master is down: " << r.describe());
        REQUIRE(r.ok());
        CHECK(json::value(r.rows()) == json::parse(R"([["before",1]])"));
    }

    c.master().restart();
    c.master().wait_ready();
    int64_t idx = c.exec_ok(c.replica(1), "INSERT INTO acked(writer, seq) VALUES ('after', 1)");
    c.wait_all_applied(idx);
    json::array rows = c.check_identical("SELECT writer, seq FROM acked ORDER BY id");
    CHECK(json::value(rows) == json::parse(R"([["before",1],["after",1]])"));
}

TEST_CASE("a write whose acks do not come in time gets 504 saying it is committed on the master",
          "[integration]") {
    ClusterOptions options;
    options.master_args = {"--ack-timeout-ms", "1500"};
    Cluster c(options);
    c.exec_ok(c.master(), kTable);
    c.wait_converged();

    for (int id = 1; id <= c.replica_count(); ++id) c.replica(id).stop();
    NodeClient client(c.master().url());
    Response w = client.exec("INSERT INTO acked(writer, seq) VALUES ('unacked', 1)", nullptr,
                             json::object{{"ack", "quorum"}}, 60s);
    int64_t committed = c.master_index();
    INFO("write with both replicas paused: " << w.describe() << "; master index " << committed);
    CHECK(w.status == 504);
    CHECK_FALSE(w.ok());
    CHECK(w.error().find("committed") != std::string::npos);
    CHECK(w.error().find(std::to_string(committed)) != std::string::npos);

    // It is committed: the master has it, and the replicas get it once they run again.
    for (int id = 1; id <= c.replica_count(); ++id) c.replica(id).resume();
    c.wait_all_applied(committed);
    json::array rows = c.check_identical("SELECT writer, seq FROM acked ORDER BY id");
    CHECK(json::value(rows) == json::parse(R"([["unacked",1]])"));
}
