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

void ReadPool::post(std::function<void(Connection&)> fn) {
    net::post(threads_, [this, fn = std::move(fn)] {
        std::unique_ptr<Connection> conn;
        {
            // As many connections as threads: one is always free for a running task.
            std::unique_lock lock(mutex_);
            available_.wait(lock, [&] { return !free_.empty(); });
            conn = std::move(free_.back());
            free_.pop_back();
        }
        try {
            fn(*conn);
        } catch (const std::exception& e) {
            // Tasks report their own errors; anything escaping is a bug, logged not fatal.
            spdlog::error("read task failed: {}", e.what());
        }
        std::lock_guard lock(mutex_);
        free_.push_back(std::move(conn));
        available_.notify_one();
    });
}

}  // namespace sqlrep
