#pragma once
// The node's I/O threads: one io_context per thread.
//
// The first context, main(), runs everything that is not an HTTP session's own work
// (signals, timers, IndexWatch waiters, the replica registry, the stream follower) and
// takes its share of sessions; the listener deals each new connection to the next context
// in turn (session_context()), and the connection's reads, writes and inline SQLite reads
// stay on that context's thread. Each context has exactly one thread, so a session needs
// no strand: its handlers cannot run at the same time. (A strand's lock and reference
// counts cost a replica about a tenth of its CPU per read.) Why not one io_context run by
// every thread: then any thread may pick up any completion, and on a small VM the threads
// spent more CPU waking each other than they saved (docs/PERFORMANCE.md, 14).

#include <atomic>
#include <memory>
#include <vector>

#include "shared/net.hpp"

namespace sqlrep {

class IoThreads {
  public:
    // `count` threads (at least one).
    explicit IoThreads(int count);
    ~IoThreads();
    IoThreads(const IoThreads&) = delete;
    IoThreads& operator=(const IoThreads&) = delete;

    net::io_context& main() { return *contexts_.front(); }
    // The context for the next accepted connection, round robin. Thread-safe.
    net::io_context& session_context();

    // Runs main() on the calling thread and every other context on a thread of its own;
    // returns once main() has stopped, after stopping the others and joining their threads.
    void run();

  private:
    std::vector<std::unique_ptr<net::io_context>> contexts_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace sqlrep
