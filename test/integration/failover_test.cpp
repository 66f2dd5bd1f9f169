// Failover (issue #17): one node program whose role changes at run time. Manual promotion
// without etcd (and its refusals when unsafe), a handover from the master to a replica,
// and automatic failover through a real etcd member: the master killed (SIGKILL) at seeded
// random times, paused (SIGSTOP) longer than its lease, cut off from etcd, and cut off
// from its replicas (LinkProxy partitions on 127.0.0.1).
//
// What every case holds the cluster to: no acknowledged write is ever lost (AckedWriter
// records every 200), the old master rejoins as a replica of the new one, and all nodes
// end with the same /checksum at the same index. Times to fail over are printed, never
// asserted: with the default 3 s lease they are 3.5-4.7 s (etcd expires a lease up to
// 500 ms late, then an election and the forwarders' backoff), too close to the issue's
// 5 s for a check that must hold under sanitizers and a loaded `ctest -j`; the waits are
// bounded (15 s) so a failover that does not happen fails. `bench --failover` measures
// the times (docs/PERFORMANCE.md).
//
// Every wait is bounded; Cluster and EtcdServer kill their processes and remove their temp
// dirs when a case ends, passed or not.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "acked_writer.hpp"
#include "cluster.hpp"
#include "etcd_server.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;
namespace http = boost::beast::http;

const char* kTable =
    "CREATE TABLE acked (id INTEGER PRIMARY KEY AUTOINCREMENT, writer TEXT NOT NULL, "
    "seq INTEGER NOT NULL, val TEXT NOT NULL DEFAULT '', UNIQUE(writer, seq))";

constexpr auto kElectionTimeout = 20s;  // etcd up to a serving master: generous

// POST /_cluster/<op> on `node` with the cluster token.
Response cluster_op(Cluster& c, Node& node, const std::string& op, const json::object& body,
                    std::chrono::milliseconds timeout = 15s) {
    NodeClient client = c.client(node);
    return client.request(http::verb::post, "/_cluster/" + op, json::serialize(body),
                          {{"X-Sqlrep-Token", c.token()}, {"Content-Type", "application/json"}},
                          timeout);
}

std::string str(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : "";
}

int64_t num(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_int64() ? v->get_int64() : -1;
}

int64_t total_acks(const std::vector<AckedWriter*>& writers) {
    int64_t total = 0;
    for (auto* w : writers) total += w->acked_count();
    return total;
}

// Waits (bounded) until the writers together have `target` acknowledged writes.
void wait_for_acks(const std::vector<AckedWriter*>& writers, int64_t target,
                   std::chrono::milliseconds timeout = 30s) {
    auto deadline = Clock::now() + timeout;
    while (total_acks(writers) < target) {
        if (Clock::now() >= deadline)
            throw std::runtime_error("writers got only " + std::to_string(total_acks(writers)) +
                                     " of " + std::to_string(target) + " acknowledgements");
        std::this_thread::sleep_for(10ms);
    }
}

// One acknowledged row, wherever it came from.
struct Acked {
    std::string writer;
    int64_t seq;
    std::string value;
};

// Waits for the cluster's first master, creates the test table there and waits until every
// node has it; returns the master's id.
int elect_with_table(Cluster& c) {
    const int master = c.wait_for_master(kElectionTimeout);
    c.exec_ok(c.node(master), kTable);
    c.wait_converged(kApplyTimeout, &c.node(master));
    return master;
}

std::vector<Acked> acked_rows(const std::vector<AckedWriter*>& writers) {
    std::vector<Acked> out;
    for (auto* w : writers)
        for (const AckedRow& r : w->acked()) out.push_back({w->name(), r.seq, r.value});
    return out;
}

// Catch checks: every acknowledged row is on `node`, with its value.
void check_acked_present(Cluster& c, Node& node, const std::vector<Acked>& acked) {
    json::array rows = c.rows(node, "SELECT writer, seq, val FROM acked");
    std::map<std::pair<std::string, int64_t>, std::string> present;
    for (const auto& row : rows) {
        const auto& r = row.as_array();
        present[{std::string(r.at(0).as_string()), r.at(1).as_int64()}] =
            std::string(r.at(2).as_string());
    }
    std::size_t missing = 0;
    std::size_t wrong = 0;
    std::string first;
    for (const Acked& a : acked) {
        auto it = present.find({a.writer, a.seq});
        if (it == present.end() || it->second != a.value) {
            (it == present.end() ? missing : wrong)++;
            if (first.empty()) first = a.writer + " seq " + std::to_string(a.seq);
        }
    }
    INFO(node.name() << ": " << missing << " of " << acked.size()
                     << " acknowledged writes missing, " << wrong
                     << " with another value; first: " << first);
    CHECK(missing == 0);
    CHECK(wrong == 0);
}

// The end of every failover test: every node has caught up with `master`, holds every
// write the writers were told succeeded, and has the same checksums as `master`.
void check_converged(Cluster& c, Node& master, const std::vector<AckedWriter*>& writers) {
    c.wait_converged(kApplyTimeout, &master);
    std::vector<Acked> acked = acked_rows(writers);
    for (Node* node : c.nodes()) check_acked_present(c, *node, acked);
    c.check_same_checksums(&master);
}

// Catch checks: no writer got an answer a down, paused or leaderless node never gives.
void check_no_unexpected(const std::vector<AckedWriter*>& writers) {
    for (auto* w : writers) {
        std::string outcomes;
        for (const auto& [k, n] : w->outcomes()) outcomes += " " + k + "=" + std::to_string(n);
        std::string samples;
        for (const auto& s : w->unexpected()) samples += "\n  " + s;
        INFO(w->name() << " outcomes:" << outcomes << samples);
        CHECK(w->unexpected_count() == 0);
    }
}

std::string describe_outcomes(const std::vector<AckedWriter*>& writers) {
    std::string out;
    for (auto* w : writers) {
        out += w->name() + ":";
        for (const auto& [k, n] : w->outcomes()) out += " " + k + "=" + std::to_string(n);
        out += "; ";
    }
    return out;
}

// Polls a quorum write through `via` until one is acknowledged; returns how long it took
// from `since`, or throws after `timeout`.
std::chrono::milliseconds time_until_write(Cluster& c, Node& via, Clock::time_point since,
                                           std::chrono::milliseconds timeout,
                                           const std::string& tag) {
    auto deadline = since + timeout;
    std::string last = "none";
    for (int attempt = 0;; ++attempt) {
        try {
            NodeClient client = c.client(via);
            Response r =
                client.exec("INSERT INTO acked(writer, seq) VALUES (?, ?)",
                            json::array{tag, attempt}, json::object{{"ack", "quorum"}}, 2000ms);
            if (r.ok())
                return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
            last = r.describe();
        } catch (const std::exception& e) {
            last = e.what();
        }
        if (Clock::now() >= deadline)
            throw std::runtime_error("no write through " + via.name() + " succeeded within " +
                                     std::to_string(timeout.count()) + " ms; last: " + last);
        std::this_thread::sleep_for(20ms);
    }
}

ClusterOptions peers_options() {
    ClusterOptions o;
    o.peers = true;
    return o;
}

ClusterOptions etcd_options(const EtcdServer& etcd) {
    ClusterOptions o;
    o.etcd = {etcd.url()};
    o.cluster_name = "it-" + random_hex(8);
    o.wait_ready = true;
    return o;
}

// Writers through every node, quorum acks, each remembering what was acknowledged.
struct Writers {
    std::vector<std::unique_ptr<AckedWriter>> owned;
    std::vector<AckedWriter*> all;
    Writers(Cluster& c, const std::string& prefix, std::chrono::milliseconds timeout = 10s) {
        for (int id = 0; id <= c.replica_count(); ++id) {
            owned.push_back(std::make_unique<AckedWriter>(
                prefix + "-via" + std::to_string(id), c.node(id).url(), "acked",
                std::vector<std::string>{"quorum"}, timeout));
            all.push_back(owned.back().get());
        }
    }
    void start() {
        for (auto* w : all) w->start();
    }
    void finish() {
        for (auto* w : all) w->finish();
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Without etcd: manual promotion

TEST_CASE(
    "a replica promoted after the master's death takes the writes, and the old master "
    "rejoins as its replica",
    "[integration][failover]") {
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    std::vector<Acked> acked;
    for (int i = 0; i < 20; ++i) {
        Node& via = c.node(i % 3);
        std::string value = random_hex(8);
        c.exec_ok(via, "INSERT INTO acked(writer, seq, val) VALUES ('before', ?, ?)",
                  json::array{i, value}, json::object{{"ack", "quorum"}});
        acked.push_back({"before", i, value});
    }
    c.wait_converged();
    const int64_t old_term = num(c.status(c.master()), "term");

    c.master().kill();
    Response promoted = cluster_op(c, c.replica(1), "promote", {});
    INFO("promote on replica 1: " << promoted.describe());
    REQUIRE(promoted.status == 200);
    REQUIRE(promoted.ok());
    const json::object& p = promoted.body.as_object();
    CHECK(num(p, "term") > old_term);
    CHECK(str(p, "master") == c.peer_urls()[1]);
    CHECK(num(p, "index") >= 21);
    json::object s1 = c.status(c.replica(1));
    INFO("replica 1 /status: " << json::serialize(s1));
    CHECK(str(s1, "role") == "master");
    CHECK(num(s1, "term") == num(p, "term"));

    // Writes through replica 2 reach the new master (a bounded wait, not a speed check).
    auto took = time_until_write(c, c.replica(2), Clock::now(), 15s, "after-promote");
    std::cout << "failover: first write through replica 2 after the promotion took " << took.count()
              << " ms\n";
    for (int i = 0; i < 10; ++i) {
        Node& via = c.node(1 + i % 2);
        std::string value = random_hex(8);
        c.exec_ok(via, "INSERT INTO acked(writer, seq, val) VALUES ('after', ?, ?)",
                  json::array{i, value}, json::object{{"ack", "quorum"}});
        acked.push_back({"after", i, value});
    }

    // The old master, restarted with its command line, finds node 1 among --peers.
    c.master().restart();
    c.master().wait_ready();
    c.wait_following(0, 1);
    json::object s0 = c.status(c.master());
    INFO("old master /status: " << json::serialize(s0));
    CHECK(str(s0, "role") == "replica");
    CHECK(str(s0, "master") == c.peer_urls()[1]);
    CHECK(num(s0, "term") == num(p, "term"));

    // And it takes part: a write through it reaches every node.
    std::string value = random_hex(8);
    int64_t last = c.exec_ok(c.master(), "INSERT INTO acked(writer, seq, val) VALUES ('end', 0, ?)",
                             json::array{value}, json::object{{"ack", "all"}});
    acked.push_back({"end", 0, value});
    c.wait_all_applied(last);
    for (Node* node : c.nodes()) check_acked_present(c, *node, acked);
    c.check_identical("SELECT id, writer, seq, val FROM acked ORDER BY id", &c.replica(1));
    c.check_same_checksums(&c.replica(1));
}

TEST_CASE("promotion is refused without --peers", "[integration][failover]") {
    Cluster c;  // no --peers: the replica cannot check what the others hold
    c.exec_ok(c.master(), kTable);
    c.wait_converged();
    c.master().kill();
    Response r = cluster_op(c, c.replica(1), "promote", {});
    INFO("promote on replica 1 without --peers: " << r.describe());
    CHECK(r.status == 409);
    CHECK_FALSE(r.ok());
    CHECK(r.error().find("not promoted") != std::string::npos);
    CHECK(r.error().find("--peers") != std::string::npos);
    CHECK(str(c.status(c.replica(1)), "role") == "replica");
}

TEST_CASE(
    "promotion is refused while a reachable replica is further ahead, and forced "
    "anyway the ahead one resyncs",
    "[integration][failover]") {
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    c.wait_converged();

    // Replica 2 misses the next writes. (SIGKILL, not SIGSTOP: a paused process still
    // receives into its socket buffer, and would apply those entries after SIGCONT even
    // with the master dead.)
    c.replica(2).kill();
    int64_t last = 0;
    for (int i = 0; i < 10; ++i)
        last = c.exec_ok(c.node(i % 2), "INSERT INTO acked(writer, seq) VALUES ('ahead', ?)",
                         json::array{i}, json::object{{"ack", "quorum"}});
    c.wait_all_applied(last);  // master and replica 1
    c.master().kill();
    c.replica(2).start();
    c.replica(2).wait_ready();

    Response refused = cluster_op(c, c.replica(2), "promote", {});
    INFO("promote on the lagging replica 2: " << refused.describe());
    CHECK(refused.status == 409);
    CHECK(refused.error().find("not promoted") != std::string::npos);
    CHECK(refused.error().find("node 1") != std::string::npos);
    CHECK(str(c.status(c.replica(2)), "role") == "replica");

    // Forced: node 2 becomes master; node 1's entries beyond it were never on a master of
    // the new term, so node 1 passes through "diverged" and resyncs from a snapshot.
    Response forced = cluster_op(c, c.replica(2), "promote", {{"force", true}});
    INFO("forced promote on replica 2: " << forced.describe());
    REQUIRE(forced.status == 200);
    CHECK(forced.ok());
    c.wait_following(1, 2, 30s);
    int64_t idx = c.exec_ok(c.replica(1), "INSERT INTO acked(writer, seq) VALUES ('forced', 1)",
                            nullptr, json::object{{"ack", "quorum"}});
    c.wait_all_applied(idx);
    // Node 0 is down; the two live nodes hold node 2's history.
    json::array rows = c.rows(c.replica(1), "SELECT writer, seq FROM acked ORDER BY id");
    CHECK(json::value(rows) == json::parse(R"([["forced",1]])"));
    c.master().restart();
    c.master().wait_ready();
    c.wait_following(0, 2, 30s);
    c.wait_converged(kApplyTimeout, &c.replica(2));
    c.check_same_checksums(&c.replica(2));
}

// ---------------------------------------------------------------------------------------
// Handover

TEST_CASE(
    "a handover under concurrent quorum writes moves the master role without losing "
    "a write",
    "[integration][failover]") {
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    c.wait_converged();
    const int64_t old_term = num(c.status(c.master()), "term");

    Writers writers(c, "handover");
    writers.start();
    wait_for_acks(writers.all, 60);

    Response h = cluster_op(c, c.master(), "handover", {{"id", 1}});
    INFO("handover to node 1: " << h.describe());
    REQUIRE(h.status == 200);
    REQUIRE(h.ok());
    const json::object& body = h.body.as_object();
    std::cout << "failover: handover took " << num(body, "took_ms") << " ms (term "
              << num(body, "term") << ", index " << num(body, "index") << ")\n";
    CHECK(num(body, "took_ms") >= 0);
    CHECK(num(body, "took_ms") < 1000);
    CHECK(str(body, "master") == c.peer_urls()[1]);
    CHECK(num(body, "term") > old_term);

    // Writes resume, through every node.
    int64_t at_handover = total_acks(writers.all);
    for (auto* w : writers.all) {
        int64_t mine = w->acked_count();
        wait_for_acks({w}, mine + 10, 15s);
    }
    writers.finish();
    std::cout << "failover: handover writes " << describe_outcomes(writers.all) << "\n";
    CHECK(total_acks(writers.all) > at_handover);
    check_no_unexpected(writers.all);

    json::object s0 = c.status(c.master());
    INFO("old master /status: " << json::serialize(s0));
    CHECK(str(s0, "role") == "replica");
    CHECK(num(s0, "master_id") == 1);
    CHECK(c.find_master() == 1);

    check_converged(c, c.replica(1), writers.all);
}

// ---------------------------------------------------------------------------------------
// Automatic failover through etcd

namespace {

// `rounds` rounds on one cluster: writers through every node, the master SIGKILLed at a
// seeded random time, the time until a write succeeds again measured, the dead node
// restarted (it must rejoin as a replica), every acknowledged write checked.
void kill_master_rounds(uint64_t first_seed, int rounds) {
    EtcdServer etcd;
    Cluster c(etcd_options(etcd));
    int master = c.wait_for_master(kElectionTimeout);
    c.exec_ok(c.node(master), kTable);
    c.wait_converged(kApplyTimeout, &c.node(master));

    Writers writers(c, "kill");
    writers.start();
    std::vector<int64_t> took_ms;
    for (int round = 0; round < rounds; ++round) {
        const uint64_t seed = first_seed + static_cast<uint64_t>(round);
        std::mt19937_64 rng(seed);
        auto before_kill = std::chrono::milliseconds(300 + rng() % 1700);
        std::cout << "failover: seed " << seed << ": master is node " << master << ", SIGKILL in "
                  << before_kill.count() << " ms\n";
        INFO("seed " << seed << ", round " << round << ", master node " << master);
        wait_for_acks(writers.all, total_acks(writers.all) + 10);
        std::this_thread::sleep_for(before_kill);

        auto killed_at = Clock::now();
        c.node(master).kill();
        int via = (master + 1 + static_cast<int>(rng() % 2)) % 3;
        auto took =
            time_until_write(c, c.node(via), killed_at, 15s, "probe-" + std::to_string(seed));
        took_ms.push_back(took.count());
        int next = c.wait_for_master(kElectionTimeout, master);
        std::cout << "failover: seed " << seed << ": node " << next
                  << " is master; first write through node " << via << " succeeded " << took.count()
                  << " ms after the SIGKILL\n";

        // The dead node comes back with its command line and follows the new master.
        c.node(master).start();
        c.node(master).wait_ready();
        c.wait_following(master, next, 30s);
        wait_for_acks(writers.all, total_acks(writers.all) + 10);
        master = next;
    }
    writers.finish();
    std::cout << "failover: kill rounds " << describe_outcomes(writers.all) << "\n";
    std::string times;
    for (auto t : took_ms) times += " " + std::to_string(t);
    std::sort(took_ms.begin(), took_ms.end());
    auto within_5s =
        std::count_if(took_ms.begin(), took_ms.end(), [](int64_t t) { return t < 5000; });
    std::cout << "failover: times to the first write after SIGKILL (ms):" << times << "; p50 "
              << took_ms[took_ms.size() / 2] << ", max " << took_ms.back() << ", " << within_5s
              << " of " << took_ms.size() << " within 5 s (printed, not asserted)\n";

    CHECK(c.find_master() == master);
    check_converged(c, c.node(master), writers.all);
}

}  // namespace

TEST_CASE(
    "etcd failover: the master killed with SIGKILL is replaced, loses no acknowledged write and "
    "rejoins as a replica (seeds 1-5)",
    "[integration][failover][etcd][slow]") {
    kill_master_rounds(1, 5);
}

TEST_CASE(
    "etcd failover: the master killed with SIGKILL is replaced, loses no acknowledged write and "
    "rejoins as a replica (seeds 6-10)",
    "[integration][failover][etcd][slow]") {
    kill_master_rounds(6, 5);
}

TEST_CASE(
    "etcd failover: the master killed with SIGKILL is replaced, loses no acknowledged write and "
    "rejoins as a replica (seeds 11-15)",
    "[integration][failover][etcd][slow]") {
    kill_master_rounds(11, 5);
}

TEST_CASE(
    "etcd failover: the master killed with SIGKILL is replaced, loses no acknowledged write and "
    "rejoins as a replica (seeds 16-20)",
    "[integration][failover][etcd][slow]") {
    kill_master_rounds(16, 5);
}

TEST_CASE(
    "etcd failover: a master paused longer than its lease acknowledges nothing after "
    "SIGCONT and rejoins as a replica",
    "[integration][failover][etcd]") {
    EtcdServer etcd;
    Cluster c(etcd_options(etcd));
    const int old = elect_with_table(c);
    const int64_t old_term = num(c.status(c.node(old)), "term");

    // Writers through every node, the paused master's own included: whatever it
    // acknowledges after SIGCONT must be on the new master at the end.
    Writers writers(c, "pause");
    writers.start();
    wait_for_acks(writers.all, 30);

    c.node(old).stop();
    auto stopped_at = Clock::now();
    int next = c.wait_for_master(kElectionTimeout, old);
    auto elected = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopped_at);
    const int64_t new_term = num(c.status(c.node(next)), "term");
    std::cout << "failover: node " << next << " master of term " << new_term << " "
              << elected.count() << " ms after SIGSTOP of node " << old << "\n";
    CHECK(new_term > old_term);
    wait_for_acks(writers.all, total_acks(writers.all) + 20);  // the new master takes writes
    std::this_thread::sleep_for(1s);  // paused beyond the lease, writes queued at it

    c.node(old).resume();
    c.wait_following(old, next, 30s);
    wait_for_acks(writers.all, total_acks(writers.all) + 20);
    writers.finish();
    std::cout << "failover: pause " << describe_outcomes(writers.all) << "\n";

    json::object s = c.status(c.node(old));
    INFO("old master /status: " << json::serialize(s));
    CHECK(num(s, "term") >= new_term);
    CHECK(c.find_master() == next);
    check_converged(c, c.node(next), writers.all);
}

TEST_CASE(
    "etcd failover: a master cut off from etcd stops acknowledging and steps down, "
    "and a new master is elected",
    "[integration][failover][etcd]") {
    EtcdServer etcd;
    ClusterOptions o = etcd_options(etcd);
    o.etcd_proxies = true;
    Cluster c(o);
    const int old = elect_with_table(c);

    Writers writers(c, "etcdcut");
    writers.start();
    wait_for_acks(writers.all, 30);

    c.cut_etcd(old);
    auto cut_at = Clock::now();
    // It must stop acknowledging before etcd can expire its key: fenced, or already a
    // replica once the new master has announced itself.
    bool saw_fenced = false;
    std::string last;
    while (Clock::now() < cut_at + 15s) {
        if (auto s = c.try_status(old)) {
            last = json::serialize(*s);
            if (str(*s, "state") == "fenced" || str(*s, "role") == "replica") {
                saw_fenced = str(*s, "state") == "fenced";
                break;
            }
        }
        std::this_thread::sleep_for(20ms);
    }
    auto fenced_after =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - cut_at);
    INFO("old master /status after the cut: " << last);
    std::cout << "failover: node " << old
              << " cut off from etcd: " << (saw_fenced ? "fenced" : "replica") << " after "
              << fenced_after.count() << " ms\n";
    CHECK(fenced_after < 15s);

    int next = c.wait_for_master(kElectionTimeout, old);
    auto elected = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - cut_at);
    std::cout << "failover: node " << next << " elected " << elected.count()
              << " ms after the cut\n";
    // While still cut off, the old master steps down (the new master announces its term).
    c.wait_following(old, next, 30s);
    wait_for_acks(writers.all, total_acks(writers.all) + 20);

    c.heal_etcd(old);
    std::this_thread::sleep_for(1s);
    wait_for_acks(writers.all, total_acks(writers.all) + 10);
    writers.finish();
    std::cout << "failover: etcd cut " << describe_outcomes(writers.all) << "\n";
    CHECK(c.find_master() == next);
    c.wait_following(old, next, 10s);
    check_converged(c, c.node(next), writers.all);
}

TEST_CASE(
    "etcd failover: a master cut off from its replicas but not from etcd keeps the "
    "master key, loses no acknowledged write, and the cluster converges when healed",
    "[integration][failover][etcd]") {
    EtcdServer etcd;
    ClusterOptions o = etcd_options(etcd);
    o.peer_proxies = true;
    o.master_args = {"--ack-timeout-ms", "1500"};
    o.replica_args = {"--ack-timeout-ms", "1500"};
    Cluster c(o);
    const int old = elect_with_table(c);
    const int64_t term = num(c.status(c.node(old)), "term");

    Writers writers(c, "peercut", 5s);
    writers.start();
    wait_for_acks(writers.all, 30);

    // Nothing reaches the master from the other nodes now: no stream, no forwarded write,
    // no status poll. It still renews its lease in etcd.
    c.peer_proxy(old).cut();
    int64_t acked_at_cut = total_acks(writers.all);
    std::this_thread::sleep_for(6s);  // two default leases
    int64_t acked_during = total_acks(writers.all) - acked_at_cut;

    // Observed, not prescribed: who is master now, and how writes fared.
    std::string statuses;
    for (int id = 0; id <= c.replica_count(); ++id) {
        auto s = c.try_status(id);
        statuses += "\n  node " + std::to_string(id) + ": " +
                    (s ? json::serialize(*s) : std::string("no answer"));
    }
    std::cout << "failover: master node " << old
              << " cut from its replicas for 6 s: " << acked_during
              << " writes acknowledged meanwhile; statuses:" << statuses << "\n";
    INFO("statuses during the cut:" << statuses);
    // It keeps the key: no other node may become master while it holds it.
    CHECK(c.find_master() == old);
    CHECK(num(*c.try_status(old), "term") == term);

    c.peer_proxy(old).heal();
    for (int id = 0; id <= c.replica_count(); ++id)
        if (id != old) c.wait_following(id, old, 30s);
    for (auto* w : writers.all) wait_for_acks({w}, w->acked_count() + 5, 20s);
    writers.finish();
    std::cout << "failover: peer cut " << describe_outcomes(writers.all) << "\n";
    check_converged(c, c.node(old), writers.all);
}

// ---------------------------------------------------------------------------------------
// Review of issue #17: each case below broke before its fix.

TEST_CASE(
    "etcd failover: with etcd gone no master is elected and the old master serves no "
    "reads, and once etcd is back a master is elected and every node follows it",
    "[integration][failover][etcd]") {
    // Back from an outage longer than the lease, the old master refused to run for the
    // key for good ("try_acquire while holding"), burning a term in etcd four times a
    // second, while the others deferred to it as the node furthest ahead: no master ever.
    EtcdServer etcd;
    Cluster c(etcd_options(etcd));
    const int old = elect_with_table(c);

    Writers writers(c, "etcdgone");
    writers.start();
    wait_for_acks(writers.all, 30);

    etcd.node().kill();
    // The master stops acting as one once its lease can have run out: it steps down.
    auto deadline = Clock::now() + 15s;
    std::string last;
    for (;;) {
        if (auto s = c.try_status(old)) {
            last = json::serialize(*s);
            if (str(*s, "role") == "replica") break;
        }
        if (Clock::now() >= deadline)
            FAIL("node " << old << " still master 15 s after etcd died: " << last);
        std::this_thread::sleep_for(50ms);
    }
    const int64_t acked_when_down = total_acks(writers.all);
    std::this_thread::sleep_for(1s);

    // No master: writes fail through every node, saying what became of them; the
    // replicas serve local reads; the old master, which may hold writes nobody
    // acknowledged, serves none (503) until a new master has checked its log.
    for (int id = 0; id <= c.replica_count(); ++id) {
        Response w = c.exec(c.node(id), "INSERT INTO acked(writer, seq) VALUES ('nomaster', ?)",
                            json::array{id});
        INFO("write through node " << id << " without etcd: " << w.describe());
        CHECK(w.status == 503);
        REQUIRE(w.body.is_object());
        CHECK_FALSE(str(w.body.as_object(), "outcome").empty());
        Response r = c.query(c.node(id), "SELECT count(*) FROM acked");
        INFO("local read on node " << id << " (the old master is " << old << "): " << r.describe());
        CHECK(r.status == (id == old ? 503u : 200u));
    }
    CHECK(total_acks(writers.all) == acked_when_down);

    etcd.restart();
    int next = c.wait_for_master(30s);
    json::object s = c.status(c.node(next));
    std::cout << "failover: etcd back; node " << next << " master of term " << num(s, "term")
              << "\n";
    for (int id = 0; id <= c.replica_count(); ++id)
        if (id != next) c.wait_following(id, next, 30s);
    for (auto* w : writers.all) wait_for_acks({w}, w->acked_count() + 5, 20s);
    writers.finish();
    std::cout << "failover: etcd gone " << describe_outcomes(writers.all) << "\n";
    Response r = c.query(c.node(old), "SELECT count(*) FROM acked");
    INFO("local read on the old master once it follows: " << r.describe());
    CHECK(r.ok());
    check_converged(c, c.node(next), writers.all);
}

TEST_CASE(
    "replicas that took a candidate's term acknowledge nothing more of the old master, "
    "so no write it acknowledges can be missing from the candidate",
    "[integration][failover]") {
    // The old master is out of the candidate's sight, not necessarily dead: between the
    // candidate reading positions and its announce, the others could go on acknowledging
    // the old master's writes with it, and those writes would be lost. Prepare closes that.
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    int64_t before = c.exec_ok(c.master(), "INSERT INTO acked(writer, seq) VALUES ('before', 1)",
                               nullptr, json::object{{"ack", "all"}});
    c.wait_all_applied(before);
    const int64_t term = num(c.status(c.master()), "term");

    for (int id : {1, 2}) {
        Response r = cluster_op(c, c.replica(id), "prepare", {{"id", 1}, {"term", term + 1}});
        INFO("prepare on replica " << id << ": " << r.describe());
        REQUIRE(r.status == 200);
        CHECK(r.int_field("term") == term + 1);
        CHECK(r.int_field("applied_index") == before);
        CHECK(r.int_field("last_term") == term);
    }
    // The old master cannot gather a quorum any more: nothing it takes is acknowledged.
    Response w = c.exec(c.master(), "INSERT INTO acked(writer, seq) VALUES ('after', 1)", nullptr,
                        json::object{{"ack", "quorum"}});
    INFO("quorum write on the old master after its replicas took term " << term + 1 << ": "
                                                                        << w.describe());
    CHECK(w.status != 200);
    for (int id : {1, 2}) {
        json::object s = c.status(c.replica(id));
        CHECK(num(s, "term") == term + 1);
        CHECK(num(s, "applied_index") == before);
    }

    // A term is promised once: the same or an older one is refused, and prepare is
    // node-to-node only.
    Response again = cluster_op(c, c.replica(1), "prepare", {{"id", 2}, {"term", term + 1}});
    CHECK(again.status == 409);
    Response anonymous =
        c.client(c.replica(1))
            .request(http::verb::post, "/_cluster/prepare", R"({"id": 1, "term": 99})", {}, 5s);
    CHECK(anonymous.status == 403);
    CHECK(num(c.status(c.replica(1)), "term") == term + 1);
}

TEST_CASE(
    "a replica promoted while the master is paused fences the others first; the master "
    "resumes as a replica and nothing acknowledged is lost",
    "[integration][failover]") {
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    c.wait_converged();
    const int64_t term = num(c.status(c.master()), "term");
    Writers writers(c, "paused", 5s);
    writers.start();
    wait_for_acks(writers.all, 30);

    c.master().stop();  // SIGSTOP: out of sight, not dead
    Response promoted = cluster_op(c, c.replica(1), "promote", {});
    INFO("promote on replica 1 with the master paused: " << promoted.describe());
    // A write may have reached replica 2 and not replica 1 as the master paused: then the
    // promotion is refused, naming node 2, and node 2 is promoted instead.
    int leader = 1;
    if (promoted.status == 409 && promoted.error().find("node 2") != std::string::npos) {
        leader = 2;
        promoted = cluster_op(c, c.replica(2), "promote", {});
    }
    REQUIRE(promoted.status == 200);
    const int64_t new_term = promoted.int_field("term");
    CHECK(new_term > term);
    // Fenced before the answer: the other replica already holds the new term.
    CHECK(num(c.status(c.replica(3 - leader)), "term") >= new_term);

    c.master().resume();
    c.wait_following(0, leader, 30s);
    c.wait_following(3 - leader, leader, 30s);
    writers.finish();
    int64_t last = c.exec_ok(c.replica(leader), "INSERT INTO acked(writer, seq) VALUES ('end', 1)",
                             nullptr, json::object{{"ack", "all"}});
    c.wait_all_applied(last);
    c.check_same_checksums(&c.replica(leader));
    check_acked_present(c, c.master(), acked_rows(writers.all));
}

TEST_CASE("promotion is refused while a reachable master still takes writes, unless forced",
          "[integration][failover]") {
    // Promoted while the master went on acknowledging writes with the other replica's
    // acks, node 1 lacked those writes, and they were gone once the cluster followed it.
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    c.wait_converged();

    Response refused = cluster_op(c, c.replica(1), "promote", {});
    INFO("promote on replica 1 with the master alive: " << refused.describe());
    CHECK(refused.status == 409);
    CHECK(refused.error().find("not promoted") != std::string::npos);
    CHECK(refused.error().find("handover") != std::string::npos);
    CHECK(str(c.status(c.replica(1)), "role") == "replica");
    CHECK(str(c.status(c.master()), "role") == "master");
    c.exec_ok(c.replica(2), "INSERT INTO acked(writer, seq) VALUES ('after-refusal', 1)", nullptr,
              json::object{{"ack", "all"}});

    // Forced, it is what the operator asked for: node 1 is master in a later term.
    Response forced = cluster_op(c, c.replica(1), "promote", {{"force", true}});
    INFO("forced promote: " << forced.describe());
    REQUIRE(forced.status == 200);
    CHECK(c.wait_for_master(20s) == 1);
}

TEST_CASE(
    "a replica that has learned a later term applies and acks nothing more from the "
    "old master's stream",
    "[integration][failover]") {
    // Told (as an announce does) that node 1 is master of a later term, replica 2 went on
    // applying node 0's entries and acking them, so node 0 could still gather a quorum
    // for writes that node 1's history never has.
    ClusterOptions o = peers_options();
    o.master_args = {"--ack-timeout-ms", "1500"};
    Cluster c(o);
    c.exec_ok(c.master(), kTable);
    c.wait_converged();
    const int64_t term = num(c.status(c.master()), "term");
    const int64_t before = num(c.status(c.replica(2)), "applied_index");

    Response announced = cluster_op(c, c.replica(2), "announce",
                                    {{"id", 1}, {"url", c.peer_urls()[1]}, {"term", term + 1}});
    INFO("announce to replica 2: " << announced.describe());
    REQUIRE(announced.status == 200);

    Response r = c.exec(c.master(), "INSERT INTO acked(writer, seq) VALUES ('old-term', 1)",
                        nullptr, json::object{{"ack", "all"}});
    INFO("ack=all write on the master of term " << term << ": " << r.describe());
    CHECK_FALSE(r.ok());  // 504: committed on node 0, acknowledged by replica 1 alone
    json::object s2 = c.status(c.replica(2));
    INFO("replica 2 /status: " << json::serialize(s2));
    CHECK(num(s2, "applied_index") == before);
    CHECK(num(s2, "term") == term + 1);
}

TEST_CASE(
    "a write forwarded to a master that is down was never sent: its outcome says "
    "not_applied, on the native and the rqlite API",
    "[integration][failover]") {
    ClusterOptions o;
    o.replica_args = {"--wait-timeout-ms", "1000"};
    Cluster c(o);
    c.exec_ok(c.master(), kTable);
    c.wait_converged();
    c.master().kill();

    Response r = c.exec(c.replica(1), "INSERT INTO acked(writer, seq) VALUES ('down', 1)", nullptr,
                        json::object{{"request_id", "review-down-1"}});
    INFO("write through replica 1 with the master down: " << r.describe());
    CHECK(r.status == 503);
    REQUIRE(r.body.is_object());
    CHECK(str(r.body.as_object(), "outcome") == "not_applied");

    NodeClient client = c.client(c.replica(1));
    Response q = client.request(http::verb::post, "/db/execute",
                                R"J([["INSERT INTO acked(writer, seq) VALUES ('down', 2)"]])J",
                                {{"Content-Type", "application/json"}});
    INFO("/db/execute through replica 1: HTTP " << q.status << " " << q.raw);
    CHECK(q.status == 503);
    CHECK(q.raw.find("outcome: not_applied") != std::string::npos);
}

TEST_CASE("etcd failover: a handover under writes leaves the master role on its target",
          "[integration][failover][etcd]") {
    // Once the old master gave the key up, a replica that polled before the target took
    // the key elected itself (it left masters out of the vote), or the target found the
    // term counter past its term (a candidate had burned one) and stepped down: the
    // handover answered 200 and another node ended up master.
    EtcdServer etcd;
    Cluster c(etcd_options(etcd));
    int master = c.wait_for_master(kElectionTimeout);
    c.exec_ok(c.node(master), kTable);
    c.wait_converged(kApplyTimeout, &c.node(master));

    Writers writers(c, "etcdhandover");
    writers.start();
    wait_for_acks(writers.all, 30);
    for (int round = 0; round < 4; ++round) {
        const int target = (master + 1 + round % 2) % 3;
        Response h = cluster_op(c, c.node(master), "handover", {{"id", target}});
        INFO("round " << round << ": handover from node " << master << " to node " << target << ": "
                      << h.describe());
        REQUIRE(h.status == 200);
        auto handed_at = Clock::now();
        int now = c.wait_for_master(kElectionTimeout);
        auto serving_after =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - handed_at);
        std::cout << "failover: etcd handover " << master << " -> " << target << ": node " << now
                  << " serving " << serving_after.count() << " ms after the answer\n";
        CHECK(now == target);
        std::this_thread::sleep_for(1s);  // an election that took the role would show by now
        CHECK(c.find_master() == target);
        master = c.find_master();
        wait_for_acks(writers.all, total_acks(writers.all) + 20);
    }
    writers.finish();
    std::cout << "failover: etcd handovers " << describe_outcomes(writers.all) << "\n";
    check_no_unexpected(writers.all);
    check_converged(c, c.node(master), writers.all);
}

TEST_CASE(
    "every node's /status has the failover fields, the master's too, before and after "
    "a handover",
    "[integration][failover]") {
    // The master's /status had no snapshots_installed (a replica's count, lost with the
    // role): the issue lists it among every node's fields.
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    c.wait_converged();
    auto check_fields = [&](const char* when) {
        for (int id = 0; id <= c.replica_count(); ++id) {
            json::object s = c.status(c.node(id));
            INFO(when << ": node " << id << " /status: " << json::serialize(s));
            for (const char* field :
                 {"term", "role", "master", "master_id", "election", "etcd_reachable",
                  "log_first_index", "snapshots_installed", "role_since_ms", "failovers"})
                CHECK(s.contains(field));
            CHECK(num(s, "snapshots_installed") >= 0);
        }
    };
    check_fields("before");
    Response h = cluster_op(c, c.master(), "handover", {{"id", 2}});
    INFO("handover: " << h.describe());
    REQUIRE(h.status == 200);
    c.wait_following(0, 2, 30s);
    check_fields("after");
    CHECK(c.find_master() == 2);
}

TEST_CASE(
    "a handover to a paused replica fails, and once it resumes it follows the master "
    "instead of being a second master of the same term",
    "[integration][failover]") {
    // The announce to the paused target timed out, the old master stayed master in the
    // term it had offered, and the target, resumed, acted on the announce waiting in its
    // socket: two nodes serving as master of one term.
    Cluster c(peers_options());
    c.exec_ok(c.master(), kTable);
    c.wait_converged();
    c.replica(1).stop();
    Response h = cluster_op(c, c.master(), "handover", {{"id", 1}});
    INFO("handover to the paused node 1: " << h.describe());
    CHECK(h.status == 503);
    c.replica(1).resume();

    // What waited in its sockets (the offered term, then the master's later one) runs
    // after SIGCONT: wait for it to have reached the master's term, then to follow.
    const int64_t term = num(c.status(c.master()), "term");
    auto deadline = Clock::now() + 30s;
    std::string last;
    for (;;) {
        if (auto s = c.try_status(1)) {
            last = json::serialize(*s);
            if (num(*s, "term") >= term) break;
        }
        if (Clock::now() >= deadline) FAIL("node 1 never reached term " << term << ": " << last);
        std::this_thread::sleep_for(50ms);
    }
    c.wait_following(1, 0, 30s);
    std::map<int64_t, int> masters_by_term;
    for (int id = 0; id <= c.replica_count(); ++id) {
        json::object s = c.status(c.node(id));
        INFO("node " << id << " /status: " << json::serialize(s));
        if (str(s, "role") == "master") ++masters_by_term[num(s, "term")];
    }
    for (const auto& [term, n] : masters_by_term) {
        INFO("term " << term);
        CHECK(n == 1);
    }
    CHECK(c.find_master() == 0);
    int64_t idx = c.exec_ok(c.replica(1), "INSERT INTO acked(writer, seq) VALUES ('resumed', 1)",
                            nullptr, json::object{{"ack", "all"}});
    c.wait_all_applied(idx);
    c.check_same_checksums();
}
