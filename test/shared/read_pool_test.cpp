// The read pool: work posted runs on its threads; try_run_here borrows a free connection
// on the caller's thread and declines, without running anything, when none is free; the
// node's own reads have a lane that client reads cannot fill.

#include <future>

#include "shared/read_pool.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

TEST_CASE("try_run_here runs on the calling thread with a connection of the pool", "[read_pool]") {
    ScratchDb db;
    run(*db.writer, "CREATE TABLE t(x)");
    run(*db.writer, "INSERT INTO t VALUES (7)");
    ReadPool pool(db.path, 2);

    std::thread::id ran_on;
    json::value seen;
    bool ran = pool.try_run_here([&](Connection& conn) {
        ran_on = std::this_thread::get_id();
        seen = scalar(conn, "SELECT x FROM t");
        return true;
    });
    CHECK(ran);
    CHECK(ran_on == std::this_thread::get_id());
    CHECK(seen == 7);

    // What the function returns is passed through: false means "not done, post it".
    CHECK_FALSE(pool.try_run_here([](Connection&) { return false; }));
}

TEST_CASE("try_run_here declines while every connection is busy, and works once one is free",
          "[read_pool]") {
    ScratchDb db;
    ReadPool pool(db.path, 1);

    std::promise<void> started;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    pool.post_client([&](Connection&) {
        started.set_value();
        released.wait();
    });
    started.get_future().wait();

    bool called = false;
    CHECK_FALSE(pool.try_run_here([&](Connection&) {
        called = true;
        return true;
    }));
    CHECK_FALSE(called);

    release.set_value();
    // The pool thread gives its connection back right after its task returns.
    bool ran = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!ran && std::chrono::steady_clock::now() < deadline) {
        ran = pool.try_run_here([](Connection&) { return true; });
        if (!ran) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(ran);
}

TEST_CASE("a posted task waits for a connection an inline reader holds", "[read_pool]") {
    ScratchDb db;
    ReadPool pool(db.path, 1);

    std::promise<void> posted_ran;
    auto posted = posted_ran.get_future();
    bool ran = pool.try_run_here([&](Connection&) {
        pool.post_client([&](Connection&) { posted_ran.set_value(); });
        // The pool thread cannot start it while this thread holds the only connection.
        CHECK(posted.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout);
        return true;
    });
    CHECK(ran);
    CHECK(posted.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
}

TEST_CASE("node reads run while every client connection is held by a slow read", "[read_pool]") {
    ScratchDb db;
    ReadPool pool(db.path, 1);

    std::promise<void> started;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    pool.post_client([&](Connection&) {
        started.set_value();
        released.wait();
    });
    started.get_future().wait();
    // A second client read queues behind the first...
    std::promise<void> second_ran;
    pool.post_client([&](Connection&) { second_ran.set_value(); });

    // ...but the node's own read (the master's log read for a stream) does not.
    std::promise<void> node_ran;
    auto node = node_ran.get_future();
    pool.post([&](Connection&) { node_ran.set_value(); });
    CHECK(node.wait_for(std::chrono::seconds(10)) == std::future_status::ready);

    release.set_value();
    CHECK(second_ran.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
}
