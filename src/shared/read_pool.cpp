#include "shared/read_pool.hpp"

#include <spdlog/spdlog.h>

namespace sqlrep {

ReadPool::ReadPool(const std::string& path, int size) : threads_(static_cast<std::size_t>(size)) {
    for (int i = 0; i < size; ++i)
        free_.push_back(std::make_unique<Connection>(path, Connection::Mode::reader));
}

ReadPool::~ReadPool() { stop(); }

void ReadPool::stop() {
    threads_.stop();
    threads_.join();
}

std::unique_ptr<Connection> ReadPool::take(bool wait) {
    std::unique_lock lock(mutex_);
    if (wait) available_.wait(lock, [&] { return !free_.empty(); });
    if (free_.empty()) return nullptr;
    std::unique_ptr<Connection> conn = std::move(free_.back());
    free_.pop_back();
    return conn;
}

void ReadPool::give_back(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(conn));
    available_.notify_one();
}

void ReadPool::post(std::function<void(Connection&)> fn) {
    net::post(threads_, [this, fn = std::move(fn)] {
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

bool ReadPool::try_run_here(const std::function<bool(Connection&)>& fn) {
    std::unique_ptr<Connection> conn = take(false);
    if (!conn) return false;
    bool ran = false;
    try {
        ran = fn(*conn);
    } catch (const std::exception& e) {
        spdlog::error("read task failed: {}", e.what());
        ran = true;  // it ran, and reported (or dropped) its own error
    }
    give_back(std::move(conn));
    return ran;
}

}  // namespace sqlrep
