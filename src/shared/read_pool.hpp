#pragma once
// A pool of read-only connections, each used by one pool thread at a time, so queries
// (and the master's log reads for the stream) never run SQLite on an I/O thread.
// WAL mode lets them read while the writer writes.
//
// post() is thread-safe; the function runs on a pool thread with a connection of its own.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shared/connection.hpp"
#include "shared/net.hpp"

namespace sqlrep {

class ReadPool {
public:
    // Opens `size` read-only connections on `path` (the file must already exist).
    ReadPool(const std::string& path, int size);
    ~ReadPool();
    ReadPool(const ReadPool&) = delete;
    ReadPool& operator=(const ReadPool&) = delete;

    void post(std::function<void(Connection&)> fn);

    // Stops accepting work and joins the threads.
    void stop();

private:
    net::thread_pool threads_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> free_;  // guarded by mutex_
    std::condition_variable available_;
};

}  // namespace sqlrep
