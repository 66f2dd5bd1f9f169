// The change sinks' runner on a real SQLite file and a real Sequencer, with a sink that
// records what it is given (and fails on demand): what it delivers, that it moves its
// position only after an acknowledged batch, writes that position through the log and
// resumes from it, never delivers its own _sqlrep_cdc rows, and reports a trimmed log as a
// gap. Also the NATS sink's names and the webhook's body.

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "../shared/test_support.hpp"
#include "master/nats_sink.hpp"
#include "master/sequencer.hpp"
#include "master/sink_runner.hpp"
#include "master/webhook_sink.hpp"
#include "shared/error.hpp"
#include "shared/replication_log.hpp"

using namespace sqlrep;
using namespace sqlrep::test;
using namespace sqlrep::master;
using namespace std::chrono_literals;

namespace {

// A sink that keeps what it acknowledged, and refuses every batch while `failing`.
class RecordingSink : public ChangeSink {
  public:
    const std::string& name() const override { return name_; }
    void deliver(const std::vector<SinkChange>& changes) override {
        if (failing) {
            ++refused;
            throw Error(ErrorKind::unavailable, "the test's sink is down");
        }
        std::lock_guard lock(mutex);
        for (const SinkChange& c : changes) got.push_back(c);
        batch_sizes.push_back(changes.size());
    }
    std::vector<SinkChange> received() {
        std::lock_guard lock(mutex);
        return got;
    }

    std::atomic<bool> failing{false};
    std::atomic<int> refused{0};
    std::mutex mutex;
    std::vector<SinkChange> got;           // guarded by mutex
    std::vector<std::size_t> batch_sizes;  // guarded by mutex

  private:
    std::string name_ = "recording";
};

struct Setup {
    TempDir dir;
    std::string path = dir.file("master.sqlite");
    std::unique_ptr<Sequencer> sequencer;
    std::atomic<int64_t> committed{0};

    Setup() {
        auto writer = open_writer(path);
        ensure_log_schema(*writer);
        run(*writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        sequencer = std::make_unique<Sequencer>(
            std::move(writer), 1, 5s, [this](int64_t index) { committed = index; },
            scratch_published());
        sequencer->start();
    }
    ~Setup() { sequencer->stop(); }

    WriteOutcome write(const std::string& sql) {
        auto promise = std::make_shared<std::promise<WriteOutcome>>();
        auto future = promise->get_future();
        sequencer->submit({SqlStatement{sql, nullptr}},
                          [promise](WriteOutcome o) { promise->set_value(std::move(o)); });
        REQUIRE(future.wait_for(10s) == std::future_status::ready);
        return future.get();
    }
    int64_t write_ok(const std::string& sql) {
        WriteOutcome o = write(sql);
        REQUIRE_FALSE(o.error);
        return o.index;
    }
    std::unique_ptr<SinkRunner> runner(RecordingSink*& sink) {
        auto owned = std::make_unique<RecordingSink>();
        sink = owned.get();
        return std::make_unique<SinkRunner>(
            std::move(owned), path, *sequencer, [this] { return committed.load(); },
            [] { return true; });
    }
    int64_t stored_position() {
        auto reader = open_reader(path);
        json::value v = internal_scalar(
            *reader, "SELECT coalesce(max(position), 0) FROM _sqlrep_cdc WHERE sink = 'recording'");
        return v.as_int64();
    }
};

void wait_until(const char* what, const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
        INFO("waiting until " << what);
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(10ms);
    }
}

std::set<std::pair<int64_t, int>> ids(const std::vector<SinkChange>& changes) {
    std::set<std::pair<int64_t, int>> out;
    for (const SinkChange& c : changes) out.insert({c.index, c.ordinal});
    return out;
}

}  // namespace

TEST_CASE("sink runner delivers every change, writes its position and resumes after it",
          "[master][sinks]") {
    Setup s;
    RecordingSink* sink = nullptr;
    auto runner = s.runner(sink);
    runner->start();
    int64_t one = s.write_ok("INSERT INTO t(v) VALUES ('a'), ('b')");
    int64_t two = s.write_ok("UPDATE t SET v = 'c' WHERE id = 1");
    wait_until("both entries are delivered", [&] { return ids(sink->received()).size() == 3; });
    CHECK(ids(sink->received()) == std::set<std::pair<int64_t, int>>{{one, 0}, {one, 1}, {two, 0}});
    CHECK(sink->received()[2].table == "t");
    CHECK(sink->received()[2].event.at("op").as_string() == "update");
    wait_until("the position is written", [&] { return s.stored_position() >= two; });
    // Its own position entries give no change, and do not make it write again.
    std::this_thread::sleep_for(SinkRunner::kPersistEvery + 200ms);
    for (const SinkChange& c : sink->received()) CHECK(c.table.rfind("_sqlrep_", 0) != 0);
    int64_t written = s.stored_position();
    int64_t last = s.committed.load();
    std::this_thread::sleep_for(SinkRunner::kPersistEvery + 200ms);
    CHECK(s.committed.load() == last);  // idle: no entry every second
    runner->stop();

    // A new runner (a restarted master) starts after the written position.
    int64_t three = s.write_ok("DELETE FROM t WHERE id = 2");
    RecordingSink* again = nullptr;
    auto second = s.runner(again);
    second->start();
    wait_until("the delete is delivered", [&] { return !again->received().empty(); });
    for (const SinkChange& c : again->received()) CHECK(c.index > written);
    CHECK(ids(again->received()).count({three, 0}) == 1);
    second->stop();
}

TEST_CASE("sink runner keeps its position while the sink fails, and delivers once it is back",
          "[master][sinks]") {
    Setup s;
    RecordingSink* sink = nullptr;
    auto runner = s.runner(sink);
    sink->failing = true;
    runner->start();
    int64_t one = s.write_ok("INSERT INTO t(v) VALUES ('a')");
    wait_until("the sink refused twice", [&] { return sink->refused >= 2; });
    json::object st = runner->status(s.committed.load());
    CHECK(st.at("position").as_int64() == 0);
    CHECK(st.at("state").as_string() == "retrying");
    CHECK(st.at("failures").as_uint64() >= 2);
    CHECK(s.stored_position() == 0);
    sink->failing = false;
    wait_until("the insert is delivered", [&] { return !sink->received().empty(); });
    CHECK(sink->received().front().index == one);
    CHECK(runner->status(s.committed.load()).at("state").as_string() == "delivering");
}

TEST_CASE("sink runner splits the changes of a large entry over bounded batches",
          "[master][sinks]") {
    Setup s;
    int64_t big = s.write_ok(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
        "INSERT INTO t(v) SELECT 'row' || i FROM n");
    RecordingSink* sink = nullptr;
    auto runner = s.runner(sink);
    runner->start();
    wait_until("every row is delivered", [&] { return sink->received().size() == 2500; });
    std::lock_guard lock(sink->mutex);
    CHECK(sink->batch_sizes == std::vector<std::size_t>{1000, 1000, 500});
    CHECK(sink->got.front().index == big);
    CHECK(sink->got.back().ordinal == 2499);
}

TEST_CASE("sink runner reports a log trimmed past its position as a gap and goes on",
          "[master][sinks]") {
    Setup s;
    s.write_ok("INSERT INTO t(v) VALUES ('x')");
    RecordingSink* sink = nullptr;
    auto runner = s.runner(sink);
    runner->start();
    wait_until("the first is delivered", [&] { return sink->received().size() == 1; });
    wait_until("its position is written", [&] { return s.stored_position() >= 1; });
    runner->stop();

    for (int i = 0; i < 4; ++i) s.write_ok("INSERT INTO t(v) VALUES ('x')");
    int64_t trim_to = s.committed.load() - 2;
    {
        auto writer = open_writer(s.path);
        writer->exec_internal("BEGIN IMMEDIATE");
        trim_log(*writer, trim_to);
        writer->exec_internal("COMMIT");
    }
    runner = s.runner(sink);
    runner->start();
    wait_until("the rest is delivered", [&] { return !sink->received().empty(); });
    json::object st = runner->status(s.committed.load());
    INFO(json::serialize(st));
    CHECK(st.at("gaps").as_uint64() == 1);
    CHECK(std::string(st.at("last_error").as_string()).find(".." + std::to_string(trim_to)) !=
          std::string::npos);
    CHECK(sink->received().front().index > trim_to);
}

TEST_CASE("a new sink starts with the oldest entry the log holds, without a gap",
          "[master][sinks]") {
    Setup s;
    for (int i = 0; i < 5; ++i) s.write_ok("INSERT INTO t(v) VALUES ('x')");
    {
        auto writer = open_writer(s.path);
        writer->exec_internal("BEGIN IMMEDIATE");
        trim_log(*writer, 3);
        writer->exec_internal("COMMIT");
    }
    RecordingSink* sink = nullptr;
    auto runner = s.runner(sink);
    runner->start();
    wait_until("the held entries are delivered", [&] { return sink->received().size() == 2; });
    CHECK(sink->received().front().index == 4);
    CHECK(runner->status(s.committed.load()).at("gaps").as_uint64() == 0);
}

TEST_CASE("the NATS sink's subjects and stream name, and the webhook's body", "[master][sinks]") {
    CHECK(nats_subject("app.cdc", "users") == "app.cdc.users");
    CHECK(nats_subject("app.cdc", "odd.name x*>") == "app.cdc.odd_name_x__");
    CHECK(nats_subject("app", "") == "app._sqlrep_schema");
    CHECK(nats_stream_name("app.cdc") == "app_cdc");
    CHECK_THROWS_AS(NatsSink("nats://127.0.0.1:1", "a.*"), Error);
    CHECK_THROWS_AS(NatsSink("nats://127.0.0.1:1", "a..b"), Error);
    CHECK_THROWS_AS(NatsSink("nats://127.0.0.1:1", ""), Error);
    CHECK_THROWS_AS(WebhookSink("ftp://x/"), Error);

    SinkChange a{7, 0, "t", json::object{{"index", 7}}};
    SinkChange b{9, 1, "t", json::object{{"index", 9}}};
    json::value body = json::parse(webhook_body({a, b}));
    CHECK(body.at("first_index").as_int64() == 7);
    CHECK(body.at("last_index").as_int64() == 9);
    CHECK(body.at("changes").as_array().size() == 2);
}
