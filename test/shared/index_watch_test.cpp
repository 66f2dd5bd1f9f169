// IndexWatch: waiters fire once the index reaches their target, or with false when their
// timeout passes first, and never twice.

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/index_watch.hpp"

using namespace sqlrep;
using namespace std::chrono_literals;

namespace {

// An io_context running on its own thread for the duration of a test.
struct IoThread {
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(ioc);
    std::thread thread{[this] { ioc.run(); }};
    ~IoThread() {
        work.reset();
        ioc.stop();
        thread.join();
    }
};

// Collects one waiter's calls.
struct Outcome {
    std::promise<bool> first;
    std::atomic<int> calls{0};
    std::function<void(bool)> callback() {
        return [this](bool reached) {
            if (calls.fetch_add(1) == 0) first.set_value(reached);
        };
    }
};

}  // namespace

TEST_CASE("a waiter fires with true when the index advances to its target", "[shared]") {
    IoThread io;
    IndexWatch watch(io.ioc, 0);
    Outcome outcome;
    auto result = outcome.first.get_future();
    watch.wait(5, 10s, outcome.callback());
    watch.advance(3);
    CHECK(result.wait_for(50ms) == std::future_status::timeout);
    watch.advance(5);
    REQUIRE(result.wait_for(5s) == std::future_status::ready);
    CHECK(result.get());
    CHECK(watch.value() == 5);
}

TEST_CASE("a waiter fires when the index jumps past its target", "[shared]") {
    IoThread io;
    IndexWatch watch(io.ioc, 0);
    Outcome outcome;
    auto result = outcome.first.get_future();
    watch.wait(5, 10s, outcome.callback());
    watch.advance(100);
    REQUIRE(result.wait_for(5s) == std::future_status::ready);
    CHECK(result.get());
}

TEST_CASE("a waiter whose target is already reached fires with true", "[shared]") {
    IoThread io;
    IndexWatch watch(io.ioc, 7);
    Outcome outcome;
    auto result = outcome.first.get_future();
    watch.wait(7, 10s, outcome.callback());
    REQUIRE(result.wait_for(5s) == std::future_status::ready);
    CHECK(result.get());
}

TEST_CASE("a waiter's callback is posted, never run inside wait or advance", "[shared]") {
    net::io_context ioc;  // not running yet
    IndexWatch watch(ioc, 1);
    int calls = 0;
    watch.wait(1, 10s, [&](bool) { ++calls; });
    CHECK(calls == 0);
    watch.wait(2, 10s, [&](bool) { ++calls; });
    watch.advance(2);
    CHECK(calls == 0);
    ioc.run_for(1s);
    CHECK(calls == 2);
}

TEST_CASE("a waiter times out with false when the index does not reach its target", "[shared]") {
    IoThread io;
    IndexWatch watch(io.ioc, 0);
    Outcome outcome;
    auto result = outcome.first.get_future();
    auto started = std::chrono::steady_clock::now();
    watch.wait(10, 50ms, outcome.callback());
    watch.advance(9);
    REQUIRE(result.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(result.get());
    CHECK(std::chrono::steady_clock::now() - started >= 50ms);
}

TEST_CASE("a waiter that timed out does not fire again when the index arrives later", "[shared]") {
    IoThread io;
    IndexWatch watch(io.ioc, 0);
    Outcome outcome;
    auto result = outcome.first.get_future();
    watch.wait(3, 20ms, outcome.callback());
    REQUIRE(result.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(result.get());
    watch.advance(3);
    std::this_thread::sleep_for(100ms);
    CHECK(outcome.calls == 1);
}

TEST_CASE("a waiter released by advance does not fire again when its timeout passes", "[shared]") {
    IoThread io;
    IndexWatch watch(io.ioc, 0);
    Outcome outcome;
    auto result = outcome.first.get_future();
    watch.wait(1, 50ms, outcome.callback());
    watch.advance(1);
    REQUIRE(result.wait_for(5s) == std::future_status::ready);
    CHECK(result.get());
    std::this_thread::sleep_for(150ms);
    watch.advance(2);
    std::this_thread::sleep_for(50ms);
    CHECK(outcome.calls == 1);
}

TEST_CASE("advance releases exactly the waiters it satisfies", "[shared]") {
    IoThread io;
    IndexWatch watch(io.ioc, 0);
    Outcome at2, at3, at4;
    auto r2 = at2.first.get_future(), r3 = at3.first.get_future(), r4 = at4.first.get_future();
    watch.wait(2, 10s, at2.callback());
    watch.wait(3, 10s, at3.callback());
    watch.wait(4, 10s, at4.callback());
    watch.advance(3);
    REQUIRE(r2.wait_for(5s) == std::future_status::ready);
    REQUIRE(r3.wait_for(5s) == std::future_status::ready);
    CHECK(r2.get());
    CHECK(r3.get());
    CHECK(r4.wait_for(50ms) == std::future_status::timeout);
    watch.advance(4);
    REQUIRE(r4.wait_for(5s) == std::future_status::ready);
    CHECK(r4.get());
}

TEST_CASE("advance ignores lower values and reset lowers the index", "[shared]") {
    net::io_context ioc;
    IndexWatch watch(ioc, 5);
    watch.advance(3);
    CHECK(watch.value() == 5);
    watch.reset(2);
    CHECK(watch.value() == 2);
    watch.advance(4);
    CHECK(watch.value() == 4);
}

TEST_CASE("racing advances and timeouts fire every waiter exactly once", "[shared][slow]") {
    IoThread io;
    IndexWatch watch(io.ioc, 0);
    constexpr int kWaiters = 2000;
    std::vector<std::atomic<int>> calls(kWaiters);
    std::atomic<int> done{0};
    std::thread advancer([&] {
        for (int64_t i = 1; i <= kWaiters; ++i) {
            watch.advance(i);
            if (i % 100 == 0) std::this_thread::sleep_for(1ms);
        }
    });
    for (int i = 0; i < kWaiters; ++i) {
        auto timeout = std::chrono::milliseconds(i % 7);
        watch.wait(i + 1, timeout, [&, i](bool) {
            calls[static_cast<size_t>(i)].fetch_add(1);
            done.fetch_add(1);
        });
    }
    advancer.join();
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (done.load() < kWaiters && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(50ms);  // room for any duplicate to show up
    REQUIRE(done.load() == kWaiters);
    int wrong = 0;
    for (auto& c : calls)
        if (c.load() != 1) ++wrong;
    CHECK(wrong == 0);
}
