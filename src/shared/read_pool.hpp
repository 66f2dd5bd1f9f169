#pragma once
// The node's read-only connections, in two lanes that never share a thread or a
// connection:
//   - the client lane (`size` threads, one connection each) runs client reads, /checksum
//     and a replica's classification of writes. A short query may instead borrow a free
//     client connection on the caller's thread (try_run_here), which saves two thread
//     hand-offs;
//   - the node lane (kNodeLaneSize threads and connections) runs the node's own reads: the
//     master's log reads and snapshots for the replication stream. However long client
//     reads run or however many wait, they cannot delay a replica's catch-up.
// WAL mode lets both read while the writer writes.
//
// post(), post_client() and try_run_here() are thread-safe.

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
    // Threads and connections of the node lane.
    static constexpr int kNodeLaneSize = 2;

    // Opens `size` client connections and kNodeLaneSize node connections on `path` (the
    // file must already exist).
    ReadPool(const std::string& path, int size);
    ~ReadPool();
    ReadPool(const ReadPool&) = delete;
    ReadPool& operator=(const ReadPool&) = delete;

    // Runs `fn` on a node-lane thread with a node connection: for the node's own reads.
    void post(std::function<void(Connection&)> fn);

    // Runs `fn` on a client-lane thread with a client connection.
    void post_client(std::function<void(Connection&)> fn);

    // Runs `fn` on the calling thread if a client connection is free right now. Returns
    // false, without running it, when none is; otherwise what `fn` returned.
    bool try_run_here(const std::function<bool(Connection&)>& fn);

    // Stops accepting work and joins the threads.
    void stop();

  private:
    // One set of threads with as many connections.
    struct Lane {
        Lane(const std::string& path, int size);
        // Takes a free connection, or null when `wait` is false and none is free.
        std::unique_ptr<Connection> take(bool wait);
        void give_back(std::unique_ptr<Connection> conn);
        void post(std::function<void(Connection&)> fn);

        net::thread_pool threads;
        std::mutex mutex;
        std::vector<std::unique_ptr<Connection>> free;  // guarded by mutex
        std::condition_variable available;
    };

    Lane client_;
    Lane node_;
};

}  // namespace sqlrep
