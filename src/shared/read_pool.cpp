#include "shared/read_pool.hpp"

#include <spdlog/spdlog.h>

namespace sqlrep {

ReadPool::Lane::Lane(const std::string& path, int size) : threads(static_cast<std::size_t>(size)) {
    for (int i = 0; i < size; ++i)
        free.push_back(std::make_unique<Connection>(path, Connection::Mode::reader));
}

std::unique_ptr<Connection> ReadPool::Lane::take(bool wait) {
    std::unique_lock lock(mutex);
    if (wait) available.wait(lock, [&] { return !free.empty(); });
    if (free.empty()) return nullptr;
    std::unique_ptr<Connection> conn = std::move(free.back());
    free.pop_back();
    return conn;
}

void ReadPool::Lane::give_back(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mutex);
    free.push_back(std::move(conn));
    available.notify_one();
}

void ReadPool::Lane::post(std::function<void(Connection&)> fn) {
    net::post(threads, [this, fn = std::move(fn)] {
        // As many connections as threads: one frees up soon even when the I/O threads
        // have borrowed some.
        std::unique_ptr<Connection> conn = take(true);
        try {
            fn(*conn);
        } catch (const std::exception& e) {
            // Tasks report their own errors; anything escaping is a bug, logged not fatal.
            spdlog::error("read task failed: {}", e.what());
        }
        give_back(std::move(conn));
    });
}

ReadPool::ReadPool(const std::string& path, int size)
    : client_(path, size), node_(path, kNodeLaneSize) {}

ReadPool::~ReadPool() { stop(); }

void ReadPool::stop() {
    for (Lane* lane : {&client_, &node_}) {
        lane->threads.stop();
        lane->threads.join();
    }
}

void ReadPool::post(std::function<void(Connection&)> fn) { node_.post(std::move(fn)); }

void ReadPool::post_client(std::function<void(Connection&)> fn) { client_.post(std::move(fn)); }

bool ReadPool::try_run_here(const std::function<bool(Connection&)>& fn) {
    std::unique_ptr<Connection> conn = client_.take(false);
    if (!conn) return false;
    bool ran = false;
    try {
        ran = fn(*conn);
    } catch (const std::exception& e) {
        spdlog::error("read task failed: {}", e.what());
        ran = true;  // it ran, and reported (or dropped) its own error
    }
    client_.give_back(std::move(conn));
    return ran;
}

}  // namespace sqlrep
