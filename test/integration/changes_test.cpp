// GET /changes, the change feed (docs/API.md "Change feed"), against real clusters: a
// consumer on a replica rebuilds the database from the changes alone under a random write
// mix (triggers, cascades, AUTOINCREMENT, WITHOUT ROWID), also when cut and resumed; the
// 410 below the log's first index, the snapshot, the cut-off of a consumer that stops
// reading, bad parameters, the consumer cap and the client roles.

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "change_consumer.hpp"
#include "cluster.hpp"
#include "shared/connection.hpp"
#include "shared/json_number.hpp"
#include "shared/sql_executor.hpp"
#include "shared/table_shape.hpp"

using namespace sqlrep;
using namespace sqlrep::test;
using Transport = ChangeConsumer::Transport;

namespace {

constexpr auto kEventTimeout = std::chrono::seconds(30);

// A database rebuilt from change events alone: each entry's events applied in one
// transaction once its last event has arrived (a consumer cut mid-entry drops the rest).
class Rebuild {
  public:
    explicit Rebuild(const std::string& path) : conn_(path, Connection::Mode::writer) {}

    // Takes one event; returns true when it completed an entry.
    bool take(const json::object& event) {
        const std::string op(event.at("op").as_string());
        if (op == "snapshot") {
            snapshot_index_ = event.at("index").as_int64();
            in_snapshot_ = true;
            return false;
        }
        if (op == "snapshot_end") {
            apply(pending_);
            pending_.clear();
            in_snapshot_ = false;
            complete_through_ = event.at("index").as_int64();
            return true;
        }
        if (op == "cutoff") return false;
        pending_.push_back(event);
        if (in_snapshot_ || !event.at("last").as_bool()) return false;
        int64_t index = event.at("index").as_int64();
        // No gap and no repeat: every change of an entry comes once, in log order.
        CHECK(index > complete_through_);
        for (const auto& e : pending_) {
            CHECK(e.at("index").as_int64() == index);
            CHECK(seen_.insert({index, e.at("position").as_int64()}).second);
        }
        apply(pending_);
        pending_.clear();
        complete_through_ = index;
        ++entries_;
        return true;
    }

    // Drops the events of an entry not received in full (the consumer was cut).
    void drop_partial() { pending_.clear(); }

    int64_t complete_through() const { return complete_through_; }
    int entries() const { return entries_; }
    int64_t snapshot_index() const { return snapshot_index_; }

    json::array rows(const std::string& table) {
        auto result = execute(conn_, {{"SELECT * FROM " + table + " ORDER BY 1, 2", nullptr}},
                              ExecutionRule::read_only);
        return result.results.back().as_object().at("rows").as_array();
    }
    json::array rowids(const std::string& table) {
        auto result = execute(conn_, {{"SELECT rowid FROM " + table + " ORDER BY 1", nullptr}},
                              ExecutionRule::read_only);
        return result.results.back().as_object().at("rows").as_array();
    }

  private:
    void apply(const std::vector<json::object>& events) {
        conn_.exec_internal("BEGIN");
        for (const auto& e : events) apply_one(e);
        conn_.exec_internal("COMMIT");
    }

    void apply_one(const json::object& e) {
        const std::string op(e.at("op").as_string());
        if (op == "schema") {
            execute(conn_, {{std::string(e.at("sql").as_string()), nullptr}}, ExecutionRule::write);
            // The feed carries what triggers did as changes of their own: a trigger here
            // would do it twice.
            auto triggers =
                execute(conn_, {{"SELECT name FROM sqlite_schema WHERE type = 'trigger'", nullptr}},
                        ExecutionRule::read_only);
            for (const auto& row : triggers.results.back().as_object().at("rows").as_array())
                execute(
                    conn_,
                    {{"DROP TRIGGER " + quote_identifier(row.as_array()[0].as_string()), nullptr}},
                    ExecutionRule::write);
            return;
        }
        const std::string table = quote_identifier(e.at("table").as_string());
        const bool has_rowid = e.contains("rowid");
        auto remove = [&](const json::object& old_values, int64_t rowid) {
            if (has_rowid) {
                execute(conn_, {{"DELETE FROM " + table + " WHERE rowid = ?", json::array{rowid}}},
                        ExecutionRule::write);
                return;
            }
            std::string where;
            json::array params;
            for (const auto& [name, value] : e.at("key").as_object()) {
                (void)value;
                where += std::string(where.empty() ? "" : " AND ") +
                         quote_identifier(std::string(name)) + " = ?";
                params.push_back(old_values.at(name));
            }
            execute(conn_, {{"DELETE FROM " + table + " WHERE " + where, params}},
                    ExecutionRule::write);
        };
        auto insert = [&](const json::object& values) {
            std::string columns = has_rowid ? "rowid" : "";
            std::string marks = has_rowid ? "?" : "";
            json::array params;
            if (has_rowid) params.push_back(e.at("rowid"));
            for (const auto& [name, value] : values) {
                columns +=
                    std::string(columns.empty() ? "" : ", ") + quote_identifier(std::string(name));
                marks += std::string(marks.empty() ? "" : ", ") + "?";
                params.push_back(value);
            }
            execute(conn_,
                    {{"INSERT INTO " + table + "(" + columns + ") VALUES(" + marks + ")", params}},
                    ExecutionRule::write);
        };
        if (op == "insert" || op == "row") return insert(e.at("new").as_object());
        int64_t old_rowid = has_rowid ? (e.contains("old_rowid") ? e.at("old_rowid").as_int64()
                                                                 : e.at("rowid").as_int64())
                                      : 0;
        remove(e.at("old").as_object(), old_rowid);
        if (op == "update") insert(e.at("new").as_object());
    }

    Connection conn_;
    std::vector<json::object> pending_;
    std::set<std::pair<int64_t, int64_t>> seen_;
    int64_t complete_through_ = 0;
    int64_t snapshot_index_ = 0;
    bool in_snapshot_ = false;
    int entries_ = 0;
};

const std::vector<std::string> kTables = {"kv", "parent", "child", "audit", "wr"};

void create_schema(Cluster& c) {
    c.exec_ok(c.master(), "CREATE TABLE kv(id INTEGER PRIMARY KEY, v TEXT, n REAL, b BLOB)");
    c.exec_ok(c.master(), "CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT)");
    c.exec_ok(c.master(),
              "CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
              "REFERENCES parent(id) ON DELETE CASCADE, x)");
    c.exec_ok(c.master(), "CREATE TABLE audit(n INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT)");
    c.exec_ok(c.master(),
              "CREATE TRIGGER kv_gone AFTER DELETE ON kv BEGIN "
              "INSERT INTO audit(what) VALUES('kv ' || old.id || ' ' || coalesce(old.v, '')); END");
    c.exec_ok(c.master(), "CREATE TABLE wr(k TEXT, j INTEGER, v, PRIMARY KEY(k, j)) WITHOUT ROWID");
}

// One random write of the mix, sent to `node` (replicas forward writes to the master).
void random_write(NodeClient& client, std::mt19937_64& rng) {
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
    int id = pick(60);
    switch (pick(9)) {
        case 0:
        case 1:
            client.exec("INSERT OR REPLACE INTO kv VALUES(?, ?, ?, randomblob(4))",
                        json::array{id, "v" + std::to_string(rng() % 1000), 0.1 * pick(100)});
            break;
        case 2:
            client.exec("UPDATE kv SET v = v || 'x', n = n / 3 WHERE id = ?", json::array{id});
            break;
        case 3:
            client.exec("DELETE FROM kv WHERE id % 7 = ?", json::array{pick(7)});
            break;
        case 4:
            client.exec("INSERT OR IGNORE INTO parent VALUES(?, 'p')", json::array{id % 10});
            break;
        case 5:
            client.exec("INSERT INTO child(parent_id, x) SELECT id, ? FROM parent WHERE id = ?",
                        json::array{pick(1000), id % 10});
            break;
        case 6:
            client.exec("DELETE FROM parent WHERE id = ?", json::array{id % 10});
            break;
        case 7:
            client.exec("INSERT OR REPLACE INTO wr VALUES(?, ?, ?)",
                        json::array{"k" + std::to_string(id % 5), id % 3, pick(100)});
            break;
        default:
            client.exec("UPDATE wr SET v = v + 1, j = j + 3 WHERE k = ?",
                        json::array{"k" + std::to_string(id % 5)});
            break;
    }
}

// Reads events into `rebuild` until the entry at `index` (or later) is complete.
void follow_until(ChangeConsumer& consumer, Rebuild& rebuild, int64_t index) {
    while (rebuild.complete_through() < index) {
        auto event = consumer.next(kEventTimeout);
        REQUIRE(event);
        rebuild.take(*event);
    }
}

// A node's rows, reals read exactly (the harness's parser may be one ulp off).
json::array exact_rows(Cluster& c, Node& node, const std::string& sql) {
    Response r = c.query(node, sql);
    REQUIRE(r.ok());
    boost::system::error_code ec;
    json::value body = parse_json_exact(r.raw, ec);
    REQUIRE(!ec);
    return body.at("rows").as_array();
}

void check_same_rows(Cluster& c, Node& node, Rebuild& rebuild) {
    for (const auto& table : kTables) {
        INFO("table " << table);
        CHECK(json::serialize(exact_rows(c, node, "SELECT * FROM " + table + " ORDER BY 1, 2")) ==
              json::serialize(rebuild.rows(table)));
        if (table != "wr")
            CHECK(json::serialize(
                      exact_rows(c, node, "SELECT rowid FROM " + table + " ORDER BY 1")) ==
                  json::serialize(rebuild.rowids(table)));
    }
}

// A last write everyone can wait for: its entry certainly has a change.
int64_t marker(Cluster& c) {
    return c.exec_ok(c.master(), "INSERT OR REPLACE INTO kv VALUES(1000, 'end', 0, NULL)");
}

}  // namespace

TEST_CASE("a /changes consumer on a replica rebuilds the database, also when cut and resumed",
          "[integration][changes]") {
    const Transport transport = GENERATE(Transport::sse, Transport::websocket);
    INFO((transport == Transport::sse ? "SSE" : "WebSocket"));
    ClusterOptions options;
    options.replicas = 2;
    options.master_args = {"--foreign-keys"};
    options.replica_args = {"--foreign-keys"};
    Cluster c(options);
    create_schema(c);
    Rebuild rebuild(c.dir() + "/rebuilt.db");
    Node& replica = c.replica(1);

    // Writes through every node, from a thread, while the consumer follows.
    std::atomic<bool> stop{false};
    std::atomic<int> writes{0};
    std::vector<std::string> urls;
    for (Node* n : c.nodes()) urls.push_back(n->url());
    std::thread writer([&] {
        std::mt19937_64 rng(2101);
        std::vector<std::unique_ptr<NodeClient>> clients;
        for (const auto& url : urls) clients.push_back(std::make_unique<NodeClient>(url));
        for (int i = 0; i < 400 && !stop; ++i) {
            try {
                random_write(*clients[static_cast<std::size_t>(i) % clients.size()], rng);
            } catch (const std::exception&) {
            }
            writes = i + 1;
        }
    });
    struct Join {
        std::thread& t;
        std::atomic<bool>& stop;
        ~Join() {
            stop = true;
            if (t.joinable()) t.join();
        }
    } join{writer, stop};

    {
        ChangeConsumer first(transport, replica.port(), "/changes?from=1");
        REQUIRE(first.status() == (transport == Transport::sse ? 200u : 101u));
        // Cut the connection part-way, wherever it happens to be (maybe mid-entry).
        for (int taken = 0; taken < 150; ++taken) {
            auto event = first.next(kEventTimeout);
            REQUIRE(event);
            rebuild.take(*event);
        }
        rebuild.drop_partial();
        if (transport == Transport::sse) CHECK(first.last_event_id() == rebuild.complete_through());
    }
    const int64_t resumed_at = rebuild.complete_through();
    REQUIRE(resumed_at > 0);
    {
        std::map<std::string, std::string> headers;
        std::string target = "/changes";
        // A browser resumes with Last-Event-ID; other clients ask for the next index.
        if (transport == Transport::sse)
            headers["Last-Event-ID"] = std::to_string(resumed_at);
        else
            target += "?from=" + std::to_string(resumed_at + 1);
        ChangeConsumer second(transport, replica.port(), target, headers);
        REQUIRE(second.status() == (transport == Transport::sse ? 200u : 101u));
        writer.join();
        int64_t last = marker(c);
        c.wait_all_applied(last);
        follow_until(second, rebuild, last);
        CHECK(rebuild.complete_through() == last);
    }
    check_same_rows(c, replica, rebuild);
    check_same_rows(c, c.master(), rebuild);
    CHECK(writes == 400);
}

TEST_CASE("/changes?snapshot=true starts a consumer from nothing", "[integration][changes]") {
    const Transport transport = GENERATE(Transport::sse, Transport::websocket);
    ClusterOptions options;
    options.replicas = 1;
    options.master_args = {"--foreign-keys"};
    options.replica_args = {"--foreign-keys"};
    Cluster c(options);
    create_schema(c);
    NodeClient client(c.master().url());
    std::mt19937_64 rng(7);
    for (int i = 0; i < 120; ++i) random_write(client, rng);
    c.wait_all_applied(c.master_index());

    Rebuild rebuild(c.dir() + "/rebuilt.db");
    ChangeConsumer consumer(transport, c.replica(1).port(), "/changes?snapshot=true");
    REQUIRE(consumer.status() == (transport == Transport::sse ? 200u : 101u));
    auto first = consumer.next(kEventTimeout);
    REQUIRE(first);
    CHECK(first->at("op") == "snapshot");
    const int64_t at = first->at("index").as_int64();
    CHECK(at == c.master_index());
    rebuild.take(*first);
    follow_until(consumer, rebuild, at);
    check_same_rows(c, c.replica(1), rebuild);

    // Then the changes after it.
    for (int i = 0; i < 40; ++i) random_write(client, rng);
    int64_t last = marker(c);
    follow_until(consumer, rebuild, last);
    check_same_rows(c, c.master(), rebuild);
}

TEST_CASE("/changes below the log's first index answers 410 with the first index",
          "[integration][changes]") {
    ClusterOptions options;
    options.replicas = 1;
    options.master_args = {"--log-retain", "0"};
    options.replica_args = {"--log-retain", "0"};
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t(a)");
    // The master trims below what every replica acked, in steps of a thousand entries;
    // write until index 1 is gone.
    auto deadline = Clock::now() + kApplyTimeout;
    json::value refusal;
    while (Clock::now() < deadline) {
        for (int i = 0; i < 200; ++i)
            c.exec_ok(c.master(), "INSERT INTO t VALUES(?)", json::array{i});
        ChangeConsumer probe(Transport::sse, c.master().port(), "/changes?from=1");
        if (probe.status() == 410) {
            refusal = probe.refusal();
            break;
        }
        CHECK(probe.status() == 200);
    }
    INFO(json::serialize(refusal));
    REQUIRE(refusal.is_object());
    int64_t first = refusal.at("first_index").as_int64();
    CHECK(first > 1);
    CHECK(refusal.at("ok") == false);
    CHECK(std::string(refusal.at("error").as_string())
              .find("first index is " + std::to_string(first)) != std::string::npos);

    // From the first index it still holds, the feed streams.
    ChangeConsumer consumer(Transport::sse, c.master().port(),
                            "/changes?from=" + std::to_string(first));
    REQUIRE(consumer.status() == 200);
    auto event = consumer.next(kEventTimeout);
    REQUIRE(event);
    CHECK(event->at("index").as_int64() == first);

    // Over WebSocket the same verdict comes as the first message.
    ChangeConsumer ws(Transport::websocket, c.master().port(), "/changes?from=1");
    REQUIRE(ws.status() == 101);
    auto gone = ws.next(kEventTimeout);
    REQUIRE(gone);
    CHECK(gone->at("op") == "cutoff");
    CHECK(gone->at("first_index").as_int64() >= first);
    CHECK(!ws.next(kEventTimeout));
}

TEST_CASE("a /changes consumer that stops reading is cut off and told where to resume",
          "[integration][changes]") {
    ClusterOptions options;
    options.replicas = 1;
    options.master_args = {"--changes-stall-ms", "500", "--changes-queue-bytes", "65536"};
    options.replica_args = {"--changes-stall-ms",      "500", "--changes-queue-bytes", "65536",
                            "--changes-max-consumers", "1"};
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE big(a)");
    // Far more than the socket buffers and the queue hold.
    for (int i = 0; i < 60; ++i)
        c.exec_ok(c.master(),
                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) "
                  "INSERT INTO big SELECT randomblob(20000) FROM n");
    c.wait_all_applied(c.master_index());

    ChangeConsumer consumer(Transport::sse, c.replica(1).port(), "/changes?from=1");
    REQUIRE(consumer.status() == 200);
    // Read nothing for a while: the node cuts the consumer off instead of queueing more
    // (and gives it --changes-stall-ms + 5 s to come back for the cutoff event).
    std::this_thread::sleep_for(3s);
    int64_t last_index = 0;
    std::optional<json::object> cutoff;
    while (auto event = consumer.next(kEventTimeout)) {
        if (event->at("op") == "cutoff") {
            cutoff = event;
            continue;
        }
        CHECK(!cutoff);  // nothing after the cutoff
        last_index = event->at("index").as_int64();
    }
    REQUIRE(cutoff);
    int64_t resume_from = cutoff->at("resume_from").as_int64();
    CHECK(resume_from < c.master_index());
    CHECK(consumer.last_event_id() == resume_from - 1);
    CHECK(last_index <= resume_from);
    // Its place among the consumers (one here) is free again, and resuming gets the rest.
    ChangeConsumer again(Transport::sse, c.replica(1).port(), "/changes",
                         {{"Last-Event-ID", std::to_string(resume_from - 1)}});
    REQUIRE(again.status() == 200);
    auto next = again.next(kEventTimeout);
    REQUIRE(next);
    CHECK(next->at("index").as_int64() == resume_from);
    CHECK(next->at("position").as_int64() == 0);
}

TEST_CASE("/changes refuses bad parameters with a JSON 400 and keeps serving",
          "[integration][changes]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster c(options);
    for (const char* target :
         {"/changes?from=0", "/changes?from=x", "/changes?tables=", "/changes?snapshot=perhaps",
          "/changes?from=1&from=2", "/changes?what=1"}) {
        Response r = c.get(c.replica(1), target);
        INFO(target << ": " << r.describe());
        CHECK(r.status == 400);
        CHECK(!r.error().empty());
    }
    ChangeConsumer ws(Transport::websocket, c.replica(1).port(), "/changes?from=-1");
    CHECK(ws.status() == 400);
    CHECK(ws.refusal().as_object().at("ok") == false);
    Response post = c.client(c.replica(1)).request(http::verb::post, "/changes", "{}");
    CHECK(post.status == 405);
    CHECK(c.get(c.replica(1), "/health").ok());
}

TEST_CASE("/changes serves at most --changes-max-consumers at once", "[integration][changes]") {
    ClusterOptions options;
    options.replicas = 1;
    options.replica_args = {"--changes-max-consumers", "2"};
    Cluster c(options);
    ChangeConsumer a(Transport::sse, c.replica(1).port(), "/changes");
    ChangeConsumer b(Transport::websocket, c.replica(1).port(), "/changes");
    REQUIRE(a.status() == 200);
    REQUIRE(b.status() == 101);
    Response third = c.get(c.replica(1), "/changes");
    CHECK(third.status == 503);
    ChangeConsumer ws(Transport::websocket, c.replica(1).port(), "/changes");
    CHECK(ws.status() == 503);
}

TEST_CASE("/changes needs a client token with --auth; the read role is enough",
          "[integration][changes]") {
    ClusterOptions options;
    options.replicas = 1;
    options.auth = R"([{"token": "reader-token", "role": "read"},
                       {"token": "admin-token", "role": "admin"}])";
    options.client_token = "admin-token";
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t(a)");
    int64_t index = c.exec_ok(c.master(), "INSERT INTO t VALUES(1)");
    c.wait_all_applied(index);
    for (auto transport : {Transport::sse, Transport::websocket}) {
        ChangeConsumer anonymous(transport, c.replica(1).port(), "/changes");
        CHECK(anonymous.status() == 401);
        ChangeConsumer wrong(transport, c.replica(1).port(), "/changes",
                             {{"Authorization", "Bearer nope"}});
        CHECK(wrong.status() == 401);
        ChangeConsumer reader(transport, c.replica(1).port(), "/changes?tables=t",
                              {{"Authorization", "Bearer reader-token"}});
        REQUIRE(reader.status() == (transport == Transport::sse ? 200u : 101u));
        auto event = reader.next(kEventTimeout);
        REQUIRE(event);
        CHECK(event->at("op") == "schema");
        event = reader.next(kEventTimeout);
        REQUIRE(event);
        CHECK(event->at("op") == "insert");
        CHECK(event->at("new").at("a") == 1);
    }
}

TEST_CASE("entries with nothing for a consumer's tables still move its resume point",
          "[integration][changes]") {
    ClusterOptions options;
    options.replicas = 1;
    options.replica_args = {"--changes-heartbeat-ms", "200"};
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE watched(a)");
    c.exec_ok(c.master(), "CREATE TABLE other(a)");
    ChangeConsumer sse(Transport::sse, c.replica(1).port(), "/changes?tables=watched&from=3");
    ChangeConsumer ws(Transport::websocket, c.replica(1).port(), "/changes?tables=watched&from=3");
    REQUIRE(sse.status() == 200);
    REQUIRE(ws.status() == 101);
    int64_t last = 0;
    for (int i = 0; i < 5; ++i) last = c.exec_ok(c.master(), "INSERT INTO other VALUES(1)");
    c.wait_all_applied(last);
    // Only heartbeats come; the SSE one moves Last-Event-ID past the skipped entries.
    auto deadline = Clock::now() + kApplyTimeout;
    while (sse.last_event_id() < last && Clock::now() < deadline) CHECK_THROWS(sse.next(300ms));
    CHECK(sse.last_event_id() == last);
    CHECK(sse.heartbeats() > 0);
    // The WebSocket heartbeat says where to resume.
    int64_t watched = c.exec_ok(c.master(), "INSERT INTO watched VALUES(2)");
    auto event = ws.next(kEventTimeout);
    REQUIRE(event);
    CHECK(event->at("index").as_int64() == watched);
    CHECK(event->at("table") == "watched");
    event = sse.next(kEventTimeout);
    REQUIRE(event);
    CHECK(event->at("index").as_int64() == watched);
    CHECK(sse.last_event_id() == watched);
}
