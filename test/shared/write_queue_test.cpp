// WriteQueue: tasks run one at a time in order, sequence numbers increase, the bound holds.

#include <catch2/catch.hpp>
#include <functional>
#include <vector>

#include "shared/write_queue.hpp"

using namespace sqlrep;

TEST_CASE("write queue runs tasks one at a time in order and reports each", "[shared][rqlite]") {
    WriteQueue queue(3);
    std::vector<int> ran;
    std::vector<std::function<void()>> pending;  // tasks finish when the test says so
    std::vector<int64_t> applied;
    auto task = [&](int id) {
        return [&, id](std::function<void()> done) {
            ran.push_back(id);
            pending.push_back(std::move(done));
        };
    };
    auto a = queue.push(task(1), [&](int64_t s) { applied.push_back(s); });
    auto b = queue.push(task(2), nullptr);
    auto c = queue.push(task(3), [&](int64_t s) { applied.push_back(s); });
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(c);
    CHECK(*a < *b);
    CHECK(*b < *c);
    CHECK_FALSE(queue.push(task(4), nullptr));  // full
    CHECK(ran == std::vector<int>{1});          // only the first runs

    pending.at(0)();
    CHECK(applied == std::vector<int64_t>{*a});
    CHECK(ran == std::vector<int>{1, 2});
    pending.at(1)();
    CHECK(ran == std::vector<int>{1, 2, 3});
    pending.at(2)();
    CHECK(applied == std::vector<int64_t>{*a, *c});
    CHECK(queue.depth() == 0);
    auto d = queue.push(task(5), nullptr);
    REQUIRE(d);
    CHECK(*d > *c);
}
