#pragma once
// rqlite's queued writes (/db/execute?queue): a request is answered at once with a
// sequence number and applied later; queued requests run one after another, in the order
// they were queued, through the node's ordinary write path. The queue is per node and in
// memory (a node that stops loses what it had not yet applied, as rqlite's does) and
// bounded: push refuses once `capacity` requests wait.
//
// Thread-safe. `run` is called without the lock, from push's thread or from the thread
// that calls the previous request's `done`.

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

namespace sqlrep {

class WriteQueue {
  public:
    // Runs one queued request; it must call `done` exactly once, whatever the outcome.
    using Task = std::function<void(std::function<void()> done)>;

    explicit WriteQueue(std::size_t capacity) : capacity_(capacity) {}
    WriteQueue(const WriteQueue&) = delete;
    WriteQueue& operator=(const WriteQueue&) = delete;

    // Queues `task` and returns its sequence number (increasing, and above any earlier
    // one: nanoseconds since the epoch when the clock allows, as rqlite's are), or nullopt
    // when the queue is full. `applied`, when set, is called with that number once the
    // task has run.
    std::optional<int64_t> push(Task task, std::function<void(int64_t sequence)> applied);

    // Requests queued and not yet finished.
    std::size_t depth() const;

  private:
    struct Queued {
        Task task;
        int64_t sequence;
        std::function<void(int64_t)> applied;
    };
    // Starts the front task unless one runs. Called without the lock.
    void start_next();
    void finished();

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<Queued> waiting_;  // guarded by mutex_; the front one runs while running_
    bool running_ = false;        // guarded by mutex_
    int64_t last_sequence_ = 0;   // guarded by mutex_
};

}  // namespace sqlrep
