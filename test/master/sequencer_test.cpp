// The master's Sequencer on a real SQLite file: ordering, per-request failure isolation,
// the log it writes and the commit callback.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "../shared/test_support.hpp"
#include "master/sequencer.hpp"
#include "shared/effects.hpp"
#include "shared/log_entry.hpp"
#include "shared/replication_log.hpp"

using namespace sqlrep;
using namespace sqlrep::test;
using sqlrep::master::Sequencer;
using sqlrep::master::WriteOutcome;
using namespace std::chrono_literals;

namespace {

struct Commits {
    std::mutex mutex;
    std::vector<int64_t> indexes;
    std::function<void(int64_t)> callback() {
        return [this](int64_t index) {
            std::lock_guard lock(mutex);
            indexes.push_back(index);
        };
    }
    std::vector<int64_t> seen() {
        std::lock_guard lock(mutex);
        return indexes;
    }
};

struct Setup {
    TempDir dir;
    std::string path = dir.file("master.sqlite");
    Commits commits;
    std::unique_ptr<Sequencer> sequencer;

    explicit Setup(int64_t term = 3, std::chrono::milliseconds timeout = 5s) {
        auto writer = open_writer(path);
        ensure_log_schema(*writer);
        run(*writer, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
        start(term, timeout, std::move(writer));
    }
    void start(int64_t term, std::chrono::milliseconds timeout,
               std::unique_ptr<Connection> writer) {
        sequencer = std::make_unique<Sequencer>(std::move(writer), term, timeout,
                                                commits.callback(), scratch_published());
        sequencer->start();
    }
    void restart(int64_t term) {
        sequencer.reset();
        start(term, 5s, open_writer(path));
    }

    std::future<WriteOutcome> submit(std::vector<SqlStatement> statements) {
        auto promise = std::make_shared<std::promise<WriteOutcome>>();
        auto future = promise->get_future();
        sequencer->submit(std::move(statements), [promise](WriteOutcome outcome) {
            promise->set_value(std::move(outcome));
        });
        return future;
    }
    std::future<WriteOutcome> submit(const std::string& sql, json::value params = nullptr) {
        return submit(std::vector<SqlStatement>{{sql, std::move(params)}});
    }
    // An insert of `v` into t with `request_id`.
    std::future<WriteOutcome> submit_with_id(const std::string& v, const std::string& request_id) {
        auto promise = std::make_shared<std::promise<WriteOutcome>>();
        auto future = promise->get_future();
        sequencer->submit(
            {SqlStatement{"INSERT INTO t(v) VALUES (?)", json::array{v}}},
            [promise](WriteOutcome outcome) { promise->set_value(std::move(outcome)); },
            ExecutionRule::write, request_id);
        return future;
    }

    std::vector<Entry> log() {
        auto reader = open_reader(path);
        return read_log_entries(*reader, 1, 1000, 1 << 24);
    }
    json::array values() {
        auto reader = open_reader(path);
        return rows_of(query(*reader, "SELECT v FROM t ORDER BY id"));
    }
};

WriteOutcome wait(std::future<WriteOutcome>& f) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
}

// The text values of the rows an entry inserts into t(id, v), in order.
std::vector<std::string> inserted_values(const Entry& entry) {
    std::vector<std::string> out;
    for (const Effect& e : decode_effects(entry.body)) {
        if (e.kind != EffectKind::insert || e.table != "t") continue;
        REQUIRE(e.new_values.size() == 2);
        out.emplace_back(e.new_values[1].bytes);
    }
    return out;
}

}  // namespace

TEST_CASE("sequencer gives successes consecutive indexes and failures their own error",
          "[master]") {
    Setup s;
    const char* insert = "INSERT INTO t(v) VALUES (?)";
    std::vector<std::future<WriteOutcome>> futures;
    futures.push_back(s.submit(insert, json::array{"a"}));
    futures.push_back(s.submit(insert, json::array{"a"}));  // duplicate
    futures.push_back(s.submit(insert, json::array{"b"}));
    futures.push_back(s.submit(insert, json::array{"c"}));
    futures.push_back(s.submit(insert, json::array{"b"}));  // duplicate
    futures.push_back(s.submit("INSERT INTO nowhere VALUES (1)"));
    futures.push_back(s.submit(insert, json::array{"d"}));

    std::vector<WriteOutcome> outcomes;
    for (auto& f : futures) outcomes.push_back(wait(f));

    const std::vector<bool> expect_ok{true, false, true, true, false, false, true};
    int64_t next = 1;
    for (size_t i = 0; i < outcomes.size(); ++i) {
        INFO("request " << i);
        if (expect_ok[i]) {
            CHECK_FALSE(outcomes[i].error.has_value());
            CHECK(outcomes[i].index == next++);
            CHECK(outcomes[i].result.rows_affected == 1);
        } else {
            REQUIRE(outcomes[i].error.has_value());
            CHECK(outcomes[i].error->kind() == ErrorKind::bad_request);
            CHECK(outcomes[i].index == 0);
        }
    }
    s.sequencer->stop();

    CHECK(s.values() ==
          json::array{json::array{"a"}, json::array{"b"}, json::array{"c"}, json::array{"d"}});
    auto log = s.log();
    REQUIRE(log.size() == 4);
    Hash previous{};
    const char* values[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < log.size(); ++i) {
        INFO("entry " << i + 1);
        CHECK(log[i].index == static_cast<int64_t>(i + 1));
        CHECK(log[i].term == 3);
        CHECK(log[i].hash == chain_hash(previous, log[i]));
        previous = log[i].hash;
        std::vector<Effect> effects = decode_effects(log[i].body);
        REQUIRE(effects.size() == 1);
        CHECK(effects[0].kind == EffectKind::insert);
        CHECK(effects[0].table == "t");
        CHECK(effects[0].new_rowid == static_cast<int64_t>(i + 1));
        CHECK(inserted_values(log[i]) == std::vector<std::string>{values[i]});
    }
    auto commits = s.commits.seen();
    REQUIRE_FALSE(commits.empty());
    CHECK(commits.back() == 4);
    CHECK(std::is_sorted(commits.begin(), commits.end()));
}

TEST_CASE("sequencer undoes a request whose later statement fails, and only that request",
          "[master]") {
    Setup s;
    auto first = s.submit("INSERT INTO t(v) VALUES ('x')");
    auto failing = s.submit(std::vector<SqlStatement>{{"INSERT INTO t(v) VALUES ('y')", nullptr},
                                                      {"INSERT INTO t(v) VALUES ('x')", nullptr}});
    auto last = s.submit("INSERT INTO t(v) VALUES ('z')");
    CHECK(wait(first).index == 1);
    auto failed = wait(failing);
    REQUIRE(failed.error.has_value());
    CHECK(failed.error->kind() == ErrorKind::bad_request);
    CHECK(wait(last).index == 2);
    s.sequencer->stop();
    CHECK(s.values() == json::array{json::array{"x"}, json::array{"z"}});
    auto log = s.log();
    REQUIRE(log.size() == 2);
    // The failed request's row ('y') is in no entry.
    CHECK(inserted_values(log[0]) == std::vector<std::string>{"x"});
    CHECK(inserted_values(log[1]) == std::vector<std::string>{"z"});
}

TEST_CASE("sequencer refuses a forbidden statement without using an index", "[master]") {
    Setup s;
    auto forbidden = s.submit("PRAGMA journal_mode=DELETE");
    auto ok = s.submit("INSERT INTO t(v) VALUES ('ok')");
    auto refused = wait(forbidden);
    REQUIRE(refused.error.has_value());
    CHECK(refused.error->kind() == ErrorKind::forbidden);
    CHECK(wait(ok).index == 1);
    s.sequencer->stop();
    CHECK(s.log().size() == 1);
}

TEST_CASE("sequencer records every row a request changes, triggers' included", "[master]") {
    Setup s;
    auto schema = s.submit(
        "CREATE TABLE audit(v); CREATE TRIGGER a AFTER INSERT ON t BEGIN"
        " INSERT INTO audit VALUES (new.v); END");
    auto f = s.submit("INSERT INTO t(v) VALUES ('p'), ('q'), ('r')");
    CHECK(wait(schema).index == 1);
    CHECK(wait(f).index == 2);
    s.sequencer->stop();
    auto log = s.log();
    REQUIRE(log.size() == 2);
    std::vector<Effect> schema_effects = decode_effects(log[0].body);
    REQUIRE(schema_effects.size() == 2);
    CHECK(schema_effects[0].kind == EffectKind::schema);
    CHECK(schema_effects[1].kind == EffectKind::schema);
    CHECK(schema_effects[1].sql.find("CREATE TRIGGER") != std::string_view::npos);
    std::vector<Effect> effects = decode_effects(log[1].body);
    REQUIRE(effects.size() == 6);
    for (std::size_t i = 0; i < effects.size(); ++i) {
        INFO("effect " << i);
        CHECK(effects[i].kind == EffectKind::insert);
        CHECK(effects[i].table == (i % 2 == 0 ? "t" : "audit"));
    }
    CHECK(inserted_values(log[1]) == std::vector<std::string>{"p", "q", "r"});
}

TEST_CASE("sequencer records the values random() gave, not the expression", "[master]") {
    Setup s;
    auto f = s.submit("INSERT INTO t(v) VALUES (random()), (hex(randomblob(8)))");
    CHECK(wait(f).index == 1);
    s.sequencer->stop();
    auto reader = open_reader(s.path);
    auto rows = rows_of(query(*reader, "SELECT id, v FROM t ORDER BY id"));
    auto log = s.log();
    REQUIRE(log.size() == 1);
    std::vector<Effect> effects = decode_effects(log[0].body);
    REQUIRE(effects.size() == 2);
    // random() stored an integer in a TEXT column: affinity made it text, on the master
    // once; the entry carries that text.
    for (std::size_t i = 0; i < effects.size(); ++i) {
        CHECK(effects[i].new_values[1].type == Value::Type::text);
        CHECK(std::string(effects[i].new_values[1].bytes) ==
              std::string(rows[i].as_array()[1].as_string()));
    }
}

TEST_CASE("sequencer makes a request that changes nothing an entry with an empty body",
          "[master]") {
    Setup s;
    auto f = s.submit("UPDATE t SET v = 'none' WHERE id = 42");
    CHECK(wait(f).index == 1);
    s.sequencer->stop();
    auto log = s.log();
    REQUIRE(log.size() == 1);
    CHECK(log[0].body.empty());
}

TEST_CASE("sequencer refuses a table whose columns hide its rowid without using an index",
          "[master]") {
    Setup s;
    auto hidden = s.submit("CREATE TABLE h(rowid, oid, _rowid_)");
    auto ok = s.submit("INSERT INTO t(v) VALUES ('ok')");
    auto refused = wait(hidden);
    REQUIRE(refused.error.has_value());
    CHECK(refused.error->kind() == ErrorKind::bad_request);
    CHECK(wait(ok).index == 1);
    s.sequencer->stop();
    auto log = s.log();
    REQUIRE(log.size() == 1);
    CHECK(inserted_values(log[0]) == std::vector<std::string>{"ok"});
}

TEST_CASE("sequencer resumes the log of an existing file and chains from it", "[master]") {
    Setup s;
    auto a = s.submit("INSERT INTO t(v) VALUES ('a')");
    auto b = s.submit("INSERT INTO t(v) VALUES ('b')");
    CHECK(wait(a).index == 1);
    CHECK(wait(b).index == 2);
    s.restart(4);
    auto c = s.submit("INSERT INTO t(v) VALUES ('c')");
    CHECK(wait(c).index == 3);
    s.sequencer->stop();
    auto log = s.log();
    REQUIRE(log.size() == 3);
    CHECK(log[2].term == 4);
    CHECK(log[2].hash == chain_hash(log[1].hash, log[2]));
    CHECK(s.commits.seen().back() == 3);
}

TEST_CASE("sequencer does not call on_commit for a group that only failed", "[master]") {
    Setup s;
    auto ok = s.submit("INSERT INTO t(v) VALUES ('a')");
    CHECK(wait(ok).index == 1);
    auto size_before = s.commits.seen().size();
    auto dup = s.submit("INSERT INTO t(v) VALUES ('a')");
    REQUIRE(wait(dup).error.has_value());
    s.sequencer->stop();
    CHECK(s.commits.seen().size() == size_before);
}

TEST_CASE("sequencer fails a request that runs past the request timeout and keeps going",
          "[master]") {
    Setup s(3, 100ms);
    auto slow = s.submit(
        "INSERT INTO t(v) WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
        "WHERE n < 500000000) SELECT 'n' || n FROM c");
    auto timed_out = wait(slow);
    REQUIRE(timed_out.error.has_value());
    CHECK(timed_out.error->kind() == ErrorKind::timeout);
    CHECK(timed_out.index == 0);
    auto after = s.submit("INSERT INTO t(v) VALUES ('after')");
    auto ok = wait(after);
    CHECK_FALSE(ok.error.has_value());
    CHECK(ok.index == 1);
    s.sequencer->stop();
    CHECK(s.values() == json::array{json::array{"after"}});
    auto log = s.log();
    REQUIRE(log.size() == 1);
    // Nothing of the rows the interrupted request had inserted.
    CHECK(decode_effects(log[0].body).size() == 1);
    CHECK(inserted_values(log[0]) == std::vector<std::string>{"after"});
}

TEST_CASE("sequencer refuses a write whose effects pass one entry as too_large and goes on",
          "[master][slow]") {
    Setup s;
    auto create = s.submit("CREATE TABLE big(b)");
    // 70 rows of 1 MiB: more than the 64 MiB one entry holds.
    auto huge = s.submit(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 70)"
        " INSERT INTO big SELECT zeroblob(1048576) FROM n");
    auto after = s.submit("INSERT INTO t(v) VALUES ('after')");
    CHECK(wait(create).index == 1);
    auto refused = wait(huge);
    REQUIRE(refused.error.has_value());
    CHECK(refused.error->kind() == ErrorKind::too_large);
    CHECK(refused.index == 0);
    auto ok = wait(after);
    CHECK_FALSE(ok.error.has_value());
    CHECK(ok.index == 2);
    s.sequencer->stop();
    auto reader = open_reader(s.path);
    CHECK(scalar(*reader, "SELECT count(*) FROM big").as_int64() == 0);
    auto log = s.log();
    REQUIRE(log.size() == 2);
    CHECK(inserted_values(log[1]) == std::vector<std::string>{"after"});
}

TEST_CASE("sequencer refuses writes submitted after stop as unavailable", "[master]") {
    Setup s;
    s.sequencer->stop();
    auto late = s.submit("INSERT INTO t(v) VALUES ('late')");
    auto outcome = wait(late);
    REQUIRE(outcome.error.has_value());
    CHECK(outcome.error->kind() == ErrorKind::unavailable);
    CHECK(s.log().empty());
}

TEST_CASE("sequencer orders concurrent submitters into one gap-free chain", "[master][slow]") {
    Setup s;
    constexpr int kThreads = 4, kEach = 50;
    std::vector<std::thread> threads;
    std::mutex mutex;
    std::vector<std::future<WriteOutcome>> futures;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                auto f = s.submit("INSERT INTO t(v) VALUES (?)",
                                  json::array{"t" + std::to_string(t) + "-" + std::to_string(i)});
                std::lock_guard lock(mutex);
                futures.push_back(std::move(f));
            }
        });
    for (auto& th : threads) th.join();
    std::vector<int64_t> indexes;
    for (auto& f : futures) {
        auto outcome = wait(f);
        CHECK_FALSE(outcome.error.has_value());
        indexes.push_back(outcome.index);
    }
    s.sequencer->stop();
    std::sort(indexes.begin(), indexes.end());
    for (size_t i = 0; i < indexes.size(); ++i) CHECK(indexes[i] == static_cast<int64_t>(i + 1));
    auto log = s.log();
    REQUIRE(log.size() == kThreads * kEach);
    Hash previous{};
    for (auto& e : log) {
        CHECK(e.hash == chain_hash(previous, e));
        previous = e.hash;
    }
    CHECK(s.commits.seen().back() == kThreads * kEach);
}

TEST_CASE("sequencer publishes each group's entries before its commit callback", "[master]") {
    TempDir dir;
    std::string path = dir.file("master.sqlite");
    auto writer = open_writer(path);
    ensure_log_schema(*writer);
    run(*writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    std::mutex mutex;
    std::vector<Entry> published;
    std::vector<std::string> events;
    Sequencer sequencer(
        std::move(writer), 1, 5s,
        [&](int64_t index) {
            std::lock_guard lock(mutex);
            events.push_back("commit " + std::to_string(index));
        },
        scratch_published());
    sequencer.set_publisher(
        [&](const std::vector<Entry>& entries) {
            std::lock_guard lock(mutex);
            published.insert(published.end(), entries.begin(), entries.end());
            events.push_back("publish " + std::to_string(entries.back().index));
        },
        [&](int64_t) { FAIL("nothing failed to commit"); });
    sequencer.start();
    for (const char* v : {"a", "a", "b"}) {
        std::promise<WriteOutcome> done;
        auto future = done.get_future();
        sequencer.submit({SqlStatement{"INSERT INTO t(v) VALUES (?)", json::array{v}}},
                         [&done](WriteOutcome outcome) { done.set_value(std::move(outcome)); });
        wait(future);
    }
    sequencer.stop();

    CHECK(events == std::vector<std::string>{"publish 1", "commit 1", "publish 2", "commit 2"});
    auto reader = open_reader(path);
    auto log = read_log_entries(*reader, 1, 100, 1 << 20);
    REQUIRE(published.size() == log.size());
    for (std::size_t i = 0; i < log.size(); ++i) {
        CHECK(published[i].hash == log[i].hash);
        CHECK(published[i].body == log[i].body);
    }
}

// --- request ids ---------------------------------------------------------------------------

TEST_CASE("a request_id sent again gets the first outcome, flagged duplicate, and runs once",
          "[master]") {
    Setup s;
    auto first = s.submit_with_id("a", "req-1");
    WriteOutcome one = wait(first);
    REQUIRE_FALSE(one.error);
    CHECK_FALSE(one.duplicate);
    // The retry's statement differs: it does not run at all.
    auto again = s.submit_with_id("other", "req-1");
    WriteOutcome two = wait(again);
    REQUIRE_FALSE(two.error);
    CHECK(two.duplicate);
    CHECK(two.index == one.index);
    CHECK(two.counts_known);
    CHECK(two.results_known);
    CHECK(two.result.rows_affected == 1);
    CHECK(two.result.last_insert_id == one.result.last_insert_id);
    CHECK(two.result.results == one.result.results);
    auto next = s.submit_with_id("b", "req-2");
    CHECK(wait(next).index == one.index + 1);
    s.sequencer->stop();
    CHECK(s.values() == json::array{json::array{"a"}, json::array{"b"}});
    auto log = s.log();
    REQUIRE(log.size() == 2);
    CHECK(log[0].request_id == "req-1");
    CHECK(log[1].request_id == "req-2");
}

TEST_CASE("the same request_id twice in one group runs once; the second gets the first's outcome",
          "[master]") {
    Setup s;
    // Keeps the writer busy so that what follows queues up into one group.
    auto busy = s.submit(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
        "INSERT INTO t(v) SELECT 'busy' FROM (SELECT max(x) FROM c)");
    auto a = s.submit_with_id("a", "same");
    auto b = s.submit_with_id("b", "same");
    auto c = s.submit_with_id("c", "different");
    REQUIRE_FALSE(wait(busy).error);
    WriteOutcome oa = wait(a), ob = wait(b), oc = wait(c);
    REQUIRE_FALSE(oa.error);
    REQUIRE_FALSE(ob.error);
    CHECK_FALSE(oa.duplicate);
    CHECK(ob.duplicate);
    CHECK(ob.index == oa.index);
    CHECK(ob.result.rows_affected == 1);
    CHECK(oc.index == oa.index + 1);
    s.sequencer->stop();
    CHECK(s.values() == json::array{json::array{"busy"}, json::array{"a"}, json::array{"c"}});
}

TEST_CASE("a request_id whose write failed is not remembered: the retry runs", "[master]") {
    Setup s;
    auto taken = s.submit_with_id("a", "first");
    REQUIRE_FALSE(wait(taken).error);
    auto clash = s.submit_with_id("a", "retry-me");  // UNIQUE(v): fails, rolled back
    WriteOutcome failed = wait(clash);
    REQUIRE(failed.error);
    CHECK(failed.error->kind() == ErrorKind::bad_request);
    auto retry = s.submit_with_id("b", "retry-me");
    WriteOutcome ok = wait(retry);
    REQUIRE_FALSE(ok.error);
    CHECK_FALSE(ok.duplicate);
    CHECK(ok.index == 2);
}

TEST_CASE("a restarted sequencer knows the request ids in its log, by index only", "[master]") {
    Setup s;
    auto first = s.submit_with_id("a", "before-restart");
    WriteOutcome one = wait(first);
    REQUIRE_FALSE(one.error);
    auto plain = s.submit("INSERT INTO t(v) VALUES ('b')");
    REQUIRE_FALSE(wait(plain).error);
    s.restart(4);
    auto again = s.submit_with_id("x", "before-restart");
    WriteOutcome two = wait(again);
    REQUIRE_FALSE(two.error);
    CHECK(two.duplicate);
    CHECK(two.index == one.index);
    CHECK_FALSE(two.counts_known);
    CHECK_FALSE(two.results_known);
    s.sequencer->stop();
    CHECK(s.log().size() == 2);
    CHECK(s.values() == json::array{json::array{"a"}, json::array{"b"}});
}

TEST_CASE("the sequencer forgets the oldest request ids past kRememberedIds", "[master]") {
    Setup s;
    std::vector<std::future<WriteOutcome>> futures;
    for (std::size_t i = 0; i <= Sequencer::kRememberedIds; ++i)
        futures.push_back(s.submit_with_id("v" + std::to_string(i), "id-" + std::to_string(i)));
    for (auto& f : futures) REQUIRE_FALSE(wait(f).error);
    auto oldest = s.submit_with_id("again-0", "id-0");  // forgotten: runs
    WriteOutcome forgotten = wait(oldest);
    REQUIRE_FALSE(forgotten.error);
    CHECK_FALSE(forgotten.duplicate);
    // id-0 came back and pushed out id-1; id-2 is still known.
    auto recent = s.submit_with_id("again-2", "id-2");
    WriteOutcome known = wait(recent);
    CHECK(known.duplicate);
    CHECK(known.index == 3);
}

TEST_CASE("sequencer replaces the database as one restore entry, in order with the writes",
          "[master]") {
    Setup s;
    REQUIRE_FALSE(s.submit("INSERT INTO t(v) VALUES ('old')").get().error);
    // The restored data: a file of user tables only, as database_upload leaves it.
    std::string restored = s.dir.file("restored.sqlite");
    {
        Connection file(restored, Connection::Mode::writer);
        run(file, "CREATE TABLE r(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)");
        run(file, "INSERT INTO r(v) VALUES ('restored')");
        file.exec_internal("PRAGMA journal_mode=DELETE");
    }
    auto before = s.submit("INSERT INTO t(v) VALUES ('queued before')");
    auto promise = std::make_shared<std::promise<WriteOutcome>>();
    auto restore = promise->get_future();
    s.sequencer->submit_restore(restored, "sqlite file, 1 table(s)",
                                [promise](WriteOutcome o) { promise->set_value(std::move(o)); });
    auto after = s.submit("INSERT INTO r(v) VALUES ('after')");

    WriteOutcome b = before.get();
    WriteOutcome r = restore.get();
    WriteOutcome a = after.get();
    REQUIRE_FALSE(b.error);
    REQUIRE_FALSE(r.error);
    REQUIRE_FALSE(a.error);
    CHECK(r.index == b.index + 1);
    CHECK(a.index == r.index + 1);
    CHECK_FALSE(std::filesystem::exists(restored));

    auto reader = open_reader(s.path);
    CHECK(scalar(*reader, "SELECT group_concat(v) FROM (SELECT v FROM r ORDER BY id)") ==
          "restored,after");
    CHECK(scalar(*reader, "SELECT count(*) FROM sqlite_schema WHERE name = 't'").as_int64() == 0);
    // The log chains through the restore entry and starts at it.
    auto log = read_log_entries(*reader, 1, 100, 1 << 20);
    REQUIRE(log.size() == 2);
    CHECK(log[0].index == r.index);
    CHECK(is_restore_body(log[0].body));
    CHECK(log[1].hash == chain_hash(log[0].hash, log[1]));
    CHECK(first_log_index(*reader) == r.index);
    // AUTOINCREMENT's counter travels with the write after the restore.
    CHECK(decode_effects(log[1].body).back().kind == EffectKind::sequence);
}

TEST_CASE("sequencer leaves the database as it was when a restore file is unusable", "[master]") {
    Setup s;
    REQUIRE_FALSE(s.submit("INSERT INTO t(v) VALUES ('kept')").get().error);
    std::string missing = s.dir.file("no-such-file.sqlite");
    {
        std::ofstream junk(missing);
        junk << "not a database";
    }
    auto promise = std::make_shared<std::promise<WriteOutcome>>();
    s.sequencer->submit_restore(missing, "junk",
                                [promise](WriteOutcome o) { promise->set_value(std::move(o)); });
    WriteOutcome r = promise->get_future().get();
    CHECK(r.error);
    WriteOutcome next = s.submit("INSERT INTO t(v) VALUES ('next')").get();
    REQUIRE_FALSE(next.error);
    auto reader = open_reader(s.path);
    CHECK(scalar(*reader, "SELECT count(*) FROM t").as_int64() == 2);
}
