// The change sinks of issue #21 against real receivers: the webhook sink (a Beast server in
// the test, WebhookReceiver) through a receiver outage, a master SIGKILL and an etcd
// failover; the NATS JetStream sink (a real nats-server -js, NatsServer) through a master
// SIGKILL and a nats-server SIGKILL, read back by a JetStream consumer (the C client).
//
// Each write below makes a known set of changes, named (index, position); a case checks
// that every one of them arrived, that nothing else did (no change of the sinks' own
// _sqlrep_cdc rows), and, where the sink's position was written, that nothing at or before
// it was sent again. Waits are bounded; Cluster, EtcdServer, NatsServer and
// WebhookReceiver stop what they started when a case ends, passed or not.

#include <nats/nats.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster.hpp"
#include "etcd_server.hpp"
#include "nats_server.hpp"
#include "webhook_receiver.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;

using ChangeId = std::pair<int64_t, int64_t>;  // (index, position)

int64_t num(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_int64() ? v->get_int64() : -1;
}

// The master's first sink in /status ({} when it has none).
json::object sink_status(Cluster& c, Node& node) {
    json::object s = c.status(node);
    const json::value* sinks = s.if_contains("sinks");
    if (!sinks || !sinks->is_array() || sinks->get_array().empty()) return {};
    return sinks->get_array().front().as_object();
}

// Polls `done` every 50 ms until it holds; fails the case after `timeout`.
void wait_until(const std::string& what, const std::function<bool()>& done,
                std::chrono::milliseconds timeout = kApplyTimeout) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() > deadline) FAIL("timed out waiting until " << what);
        std::this_thread::sleep_for(50ms);
    }
}

// Every change the receiver got, counting repeats, with one of its events for each.
struct Received {
    std::map<ChangeId, int> count;
    std::map<ChangeId, json::object> event;
    std::set<std::string> tables;
};

Received received(const WebhookReceiver& receiver, std::size_t from_body = 0) {
    Received out;
    auto bodies = receiver.bodies();
    for (std::size_t i = from_body; i < bodies.size(); ++i) {
        const json::object& body = bodies[i].as_object();
        for (const auto& v : body.at("changes").as_array()) {
            const json::object& e = v.as_object();
            ChangeId id{e.at("index").as_int64(), e.at("position").as_int64()};
            ++out.count[id];
            out.event[id] = e;
            if (const json::value* t = e.if_contains("table"))
                out.tables.insert(t->as_string().c_str());
        }
    }
    return out;
}

bool has_all(const Received& r, const std::set<ChangeId>& expected) {
    for (const ChangeId& id : expected)
        if (!r.count.count(id)) return false;
    return true;
}

// Writes through `node`, remembering the changes each makes: `rows` single-row inserts into
// t, then one update of three rows (three changes in one entry) and one delete.
void write_some(Cluster& c, Node& node, const std::string& tag, int rows,
                std::set<ChangeId>& expected) {
    for (int i = 0; i < rows; ++i)
        expected.insert({c.exec_ok(node, "INSERT INTO t (v) VALUES (?)",
                                   json::array{tag + "-" + std::to_string(i)}),
                         0});
    int64_t update = c.exec_ok(
        node, "UPDATE t SET v = v || '!' WHERE id IN (SELECT id FROM t ORDER BY id DESC LIMIT 3)");
    for (int p = 0; p < 3; ++p) expected.insert({update, p});
    expected.insert({c.exec_ok(node, "DELETE FROM t WHERE id = (SELECT min(id) FROM t)"), 0});
}

// Waits until the receiver has every change of `expected`; on timeout, names the missing.
// Changes in `earlier` (received by a receiver gone since) count as received.
void wait_for_all(const WebhookReceiver& receiver, const std::set<ChangeId>& expected,
                  const std::string& what, const Received& earlier = {}) {
    auto deadline = Clock::now() + kApplyTimeout;
    auto now_received = [&] {
        Received r = received(receiver);
        for (const auto& [id, n] : earlier.count) r.count[id] += n;
        return r;
    };
    while (!has_all(now_received(), expected)) {
        if (Clock::now() > deadline) {
            Received r = now_received();
            std::string missing;
            for (const ChangeId& id : expected)
                if (!r.count.count(id))
                    missing += " " + std::to_string(id.first) + "." + std::to_string(id.second);
            FAIL("timed out waiting until " << what << "; missing:" << missing << "; got "
                                            << r.count.size() << " changes");
        }
        std::this_thread::sleep_for(50ms);
    }
}

// Every change received is one the test made, and none is of sqlrep's own tables.
void check_nothing_else(const Received& r, const std::set<ChangeId>& expected) {
    for (const auto& [id, n] : r.count) {
        INFO("change " << id.first << "." << id.second << ": " << json::serialize(r.event.at(id)));
        CHECK(expected.count(id) == 1);
    }
    for (const std::string& table : r.tables) CHECK(table.rfind("_sqlrep_", 0) != 0);
}

}  // namespace

TEST_CASE(
    "the webhook sink delivers every change through a receiver outage and a master SIGKILL, "
    "resuming after its durable position",
    "[integration][cdc][sinks]") {
    uint16_t port = free_ports(1)[0];
    ClusterOptions o;
    o.replicas = 2;
    o.master_args = {"--cdc-webhook", "http://127.0.0.1:" + std::to_string(port) + "/hook"};
    Cluster c(o);
    std::set<ChangeId> expected;
    expected.insert({c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"), 0});

    // Nobody listens: the writes still succeed (they never wait for a sink), and the sink
    // counts its failures.
    write_some(c, c.master(), "down", 20, expected);
    wait_until("the sink has failed",
               [&] { return num(sink_status(c, c.master()), "failures") > 0; });
    CHECK(num(sink_status(c, c.master()), "position") == 0);

    Received first;  // what the first receiver got
    {
        // Up, but answering 503 for a while: still nothing counts as delivered.
        auto receiver = std::make_unique<WebhookReceiver>(port);
        receiver->set_failing(true);
        wait_until("the receiver refused twice", [&] { return receiver->refused() >= 2; });
        CHECK(num(sink_status(c, c.master()), "position") == 0);
        receiver->set_failing(false);
        wait_for_all(*receiver, expected, "every change arrived");
        write_some(c, c.master(), "up", 10, expected);
        wait_for_all(*receiver, expected, "every change arrived");
        first = received(*receiver);
        Received& r = first;
        check_nothing_else(r, expected);
        // One event's content, as docs/API.md describes it.
        const json::object& e = r.event.at(*expected.rbegin());
        CHECK(e.at("op").as_string() == "delete");
        CHECK(e.at("table").as_string() == "t");
        CHECK(e.at("new").is_null());
    }  // the receiver goes away again

    // The position is written (replicated) within about a second of the deliveries.
    int64_t last = 0;
    for (const ChangeId& id : expected) last = std::max(last, id.first);
    wait_until("the position is written",
               [&] { return num(sink_status(c, c.master()), "persisted_position") >= last; });
    int64_t persisted = num(sink_status(c, c.master()), "persisted_position");
    json::object metrics_probe = sink_status(c, c.master());
    INFO("sink status: " << json::serialize(metrics_probe));

    // More writes while the receiver is down, then the master dies and comes back.
    write_some(c, c.master(), "before-kill", 5, expected);
    c.master().kill();
    c.master().restart();
    c.master().wait_ready();
    auto receiver = std::make_unique<WebhookReceiver>(port);
    write_some(c, c.master(), "after-restart", 5, expected);
    wait_for_all(*receiver, expected, "every change arrived after the restart", first);
    Received after = received(*receiver);
    check_nothing_else(after, expected);
    // It carried on after the written position: nothing up to it came again.
    for (const auto& [id, n] : after.count) {
        INFO("change " << id.first << "." << id.second << " sent again after the restart");
        CHECK(id.first > persisted);
    }
    std::cout << "webhook sink: " << expected.size() << " changes; after the restart "
              << after.count.size() << " delivered (position written at " << persisted << ")\n";

    // /metrics shows the sink.
    Response m = c.get(c.master(), "/metrics");
    CHECK(m.raw.find("sqlrep_sink_position{sink=\"webhook\"}") != std::string::npos);
    CHECK(m.raw.find("sqlrep_sink_failures_total{sink=\"webhook\"}") != std::string::npos);
    CHECK(m.raw.find("sqlrep_sink_lag_entries{sink=\"webhook\"}") != std::string::npos);
}

TEST_CASE("the webhook sink continues on the new master after an etcd failover",
          "[integration][cdc][sinks][etcd]") {
    EtcdServer etcd;
    WebhookReceiver receiver(free_ports(1)[0]);
    ClusterOptions o;
    o.etcd = {etcd.url()};
    o.cluster_name = "sinks-" + random_hex(8);
    o.master_args = {"--cdc-webhook", receiver.url()};
    o.replica_args = o.master_args;  // any node may become master
    Cluster c(o);
    int master = c.wait_for_master(20s);
    std::set<ChangeId> expected;
    expected.insert(
        {c.exec_ok(c.node(master), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"), 0});
    write_some(c, c.node(master), "first", 10, expected);
    wait_for_all(receiver, expected, "every change arrived");
    int64_t last = 0;
    for (const ChangeId& id : expected) last = std::max(last, id.first);
    wait_until("the position is written",
               [&] { return num(sink_status(c, c.node(master)), "persisted_position") >= last; });
    int64_t persisted = num(sink_status(c, c.node(master)), "persisted_position");
    c.wait_converged(kApplyTimeout, &c.node(master));  // every node has the position
    std::size_t bodies_before = receiver.bodies().size();

    c.node(master).kill();
    int next = c.wait_for_master(20s, master);
    write_some(c, c.node(next), "second", 10, expected);
    wait_for_all(receiver, expected, "every change arrived after the failover");
    Received all = received(receiver);
    check_nothing_else(all, expected);
    Received after = received(receiver, bodies_before);
    for (const auto& [id, n] : after.count) {
        INFO("change " << id.first << "." << id.second << " sent again by the new master");
        CHECK(id.first > persisted);
    }
    json::object s = sink_status(c, c.node(next));
    INFO("new master's sink: " << json::serialize(s));
    CHECK(num(s, "position") >= last);
    c.node(master).start();  // back as a replica; the cluster ends whole
    c.node(master).wait_ready();
}

namespace {

// Reads every message of `subjects` in the stream through a pull consumer; returns the
// count of each message id, and each id's subject.
struct Consumed {
    std::map<std::string, int> ids;
    std::map<std::string, std::string> subject;
};

Consumed consume_all(const std::string& url, const std::string& subjects) {
    Consumed out;
    natsConnection* conn = nullptr;
    jsCtx* js = nullptr;
    natsSubscription* sub = nullptr;
    REQUIRE(natsConnection_ConnectTo(&conn, url.c_str()) == NATS_OK);
    REQUIRE(natsConnection_JetStream(&js, conn, nullptr) == NATS_OK);
    jsErrCode jerr = jsErrCode(0);
    std::string durable = "checker" + random_hex(6);
    natsStatus s =
        js_PullSubscribe(&sub, js, subjects.c_str(), durable.c_str(), nullptr, nullptr, &jerr);
    INFO("js_PullSubscribe: " << natsStatus_GetText(s) << " " << static_cast<int>(jerr));
    REQUIRE(s == NATS_OK);
    while (true) {
        natsMsgList list{};
        s = natsSubscription_Fetch(&list, sub, 256, 2000, &jerr);
        if (s == NATS_TIMEOUT) break;
        REQUIRE(s == NATS_OK);
        for (int i = 0; i < list.Count; ++i) {
            natsMsg* msg = list.Msgs[i];
            const char* id = nullptr;
            if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) {
                ++out.ids[id];
                out.subject[id] = natsMsg_GetSubject(msg);
            }
            natsMsg_Ack(msg, nullptr);
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(conn);
    return out;
}

}  // namespace

TEST_CASE(
    "the NATS sink publishes every change exactly once across a master SIGKILL and a "
    "nats-server SIGKILL",
    "[integration][cdc][sinks][nats]") {
    NatsServer nats;
    ClusterOptions o;
    o.replicas = 1;
    o.master_args = {"--cdc-nats", nats.url(), "--cdc-subject", "it.cdc"};
    Cluster c(o);
    std::set<ChangeId> expected;
    std::map<ChangeId, std::string> subject_of;
    int64_t create = c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    expected.insert({create, 0});
    subject_of[{create, 0}] = "it.cdc._sqlrep_schema";
    int64_t odd = c.exec_ok(c.master(), "CREATE TABLE \"odd.name x\" (a)");
    expected.insert({odd, 0});
    subject_of[{odd, 0}] = "it.cdc._sqlrep_schema";
    int64_t odd_row = c.exec_ok(c.master(), "INSERT INTO \"odd.name x\" VALUES (1)");
    expected.insert({odd_row, 0});
    subject_of[{odd_row, 0}] = "it.cdc.odd_name_x";
    auto last_index = [&] {
        int64_t last = 0;
        for (const ChangeId& id : expected) last = std::max(last, id.first);
        return last;
    };
    auto delivered_up_to = [&](int64_t index) {
        wait_until("the sink acknowledged index " + std::to_string(index),
                   [&] { return num(sink_status(c, c.master()), "position") >= index; });
    };

    write_some(c, c.master(), "one", 20, expected);
    delivered_up_to(last_index());
    // SIGKILL right after the publishes, most likely before the position is written: the
    // restarted master publishes some changes again, and JetStream drops the repeats.
    c.master().kill();
    c.master().restart();
    c.master().wait_ready();
    write_some(c, c.master(), "two", 20, expected);
    delivered_up_to(last_index());

    nats.restart();  // SIGKILL and back on its store
    write_some(c, c.master(), "three", 20, expected);
    delivered_up_to(last_index());
    json::object s = sink_status(c, c.master());
    INFO("sink: " << json::serialize(s));
    std::cout << "nats sink: " << json::serialize(s) << "\n";

    Consumed got = consume_all(nats.url(), "it.cdc.>");
    std::set<std::string> want;
    for (const ChangeId& id : expected)
        want.insert(std::to_string(id.first) + "." + std::to_string(id.second));
    for (const std::string& id : want) {
        INFO("change " << id);
        CHECK(got.ids.count(id) == 1);
        if (got.ids.count(id)) CHECK(got.ids[id] == 1);
    }
    for (const auto& [id, n] : got.ids) {
        INFO("message " << id << " on " << got.subject[id]);
        CHECK(want.count(id) == 1);
    }
    for (const auto& [change, subject] : subject_of) {
        std::string id = std::to_string(change.first) + "." + std::to_string(change.second);
        CHECK(got.subject[id] == subject);
    }
    CHECK(got.subject[std::to_string(expected.rbegin()->first) + ".0"] == "it.cdc.t");
}
