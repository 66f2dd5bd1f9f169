// IoThreads: one io_context per thread, connections dealt across them in turn, and a
// run() that returns, with every thread joined, once the main context stops.

#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "shared/io_threads.hpp"

using namespace sqlrep;

TEST_CASE("io threads deal sessions in turn and run each context on its own thread", "[shared]") {
    IoThreads io(3);
    std::vector<net::io_context*> dealt;
    for (int i = 0; i < 6; ++i) dealt.push_back(&io.session_context());
    CHECK(dealt[0] == &io.main());
    CHECK(std::set<net::io_context*>(dealt.begin(), dealt.end()).size() == 3);
    CHECK(dealt[3] == dealt[0]);
    CHECK(dealt[4] == dealt[1]);

    std::mutex mutex;
    std::set<std::thread::id> threads;
    int ran = 0;
    // In a node the listener and the signal set keep main() busy; here, this guard.
    auto busy = net::make_work_guard(io.main());
    for (int i = 0; i < 3; ++i) {
        net::post(*dealt[static_cast<std::size_t>(i)], [&] {
            std::lock_guard lock(mutex);
            threads.insert(std::this_thread::get_id());
            if (++ran == 3) net::post(io.main(), [&] { busy.reset(); });
        });
    }
    io.run();  // returns once main() stops, the other two stopped and joined
    CHECK(ran == 3);
    CHECK(threads.size() == 3);
}

TEST_CASE("io threads with one context run everything on the caller's thread", "[shared]") {
    IoThreads io(1);
    CHECK(&io.session_context() == &io.main());
    std::thread::id ran_on;
    net::post(io.main(), [&] { ran_on = std::this_thread::get_id(); });
    io.run();  // nothing keeps main() busy: it returns when the work is done
    CHECK(ran_on == std::this_thread::get_id());
}
