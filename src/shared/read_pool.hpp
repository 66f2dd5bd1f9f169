#pragma once
// A pool of read-only connections, each used by one thread at a time. Work posted runs on
// the pool's own threads, so a slow query (or the master's log reads for the stream) never
// holds up an I/O thread; a short query may instead borrow a free connection on the
// caller's thread (try_run_here), which saves two thread hand-offs. WAL mode lets them
// read while the writer writes.
//
// post() and try_run_here() are thread-safe.

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

    // Runs `fn` on a pool thread with a connection of its own.
    void post(std::function<void(Connection&)> fn);

    // Runs `fn` on the calling thread if a connection is free right now. Returns false,
    // without running it, when none is; otherwise what `fn` returned.
    bool try_run_here(const std::function<bool(Connection&)>& fn);

    // Stops accepting work and joins the threads.
    void stop();

private:
    // Takes a free connection, or null when `wait` is false and none is free.
    std::unique_ptr<Connection> take(bool wait);
    void give_back(std::unique_ptr<Connection> conn);

    net::thread_pool threads_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> free_;  // guarded by mutex_
    std::condition_variable available_;
};

}  // namespace sqlrep
