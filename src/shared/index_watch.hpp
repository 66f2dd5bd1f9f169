#pragma once
// A growing index (a node's applied index, a quorum's acked index) that callers can wait
// on without blocking a thread: the waiter's callback runs on an io_context thread once
// the index reaches its target, or with `false` when its timeout passes first.
//
// Thread-safe: advance() from any thread (the writer, the follower), wait() from any.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "shared/net.hpp"

namespace sqlrep {

class IndexWatch {
  public:
    explicit IndexWatch(net::io_context& ioc, int64_t initial = 0) : ioc_(ioc), value_(initial) {}
    IndexWatch(const IndexWatch&) = delete;
    IndexWatch& operator=(const IndexWatch&) = delete;

    int64_t value() const { return value_.load(std::memory_order_acquire); }

    // Raises the index (lower values are ignored) and releases the waiters it satisfies.
    void advance(int64_t value);

    // Sets the index to `value` even if lower (after a resync to an older snapshot).
    void reset(int64_t value);

    // done(true) once value() >= target, done(false) after `timeout`. Exactly one call,
    // always posted to the io_context, never run inline.
    void wait(int64_t target, std::chrono::milliseconds timeout, std::function<void(bool)> done);

  private:
    struct Waiter {
        explicit Waiter(net::io_context& ioc) : timer(ioc) {}
        std::function<void(bool)> done;
        net::steady_timer timer;
        std::atomic<bool> fired{false};
    };
    void set(int64_t value, bool only_up);
    void fire(const std::shared_ptr<Waiter>& waiter, bool reached);

    net::io_context& ioc_;
    std::atomic<int64_t> value_;
    std::mutex mutex_;
    std::multimap<int64_t, std::shared_ptr<Waiter>> waiters_;  // guarded by mutex_
};

}  // namespace sqlrep
