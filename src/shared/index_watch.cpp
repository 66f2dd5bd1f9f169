#include "shared/index_watch.hpp"

#include <vector>

namespace sqlrep {

void IndexWatch::advance(int64_t value) {
    if (value > value_.load(std::memory_order_acquire)) set(value, /*only_up=*/true);
}

void IndexWatch::reset(int64_t value) { set(value, /*only_up=*/false); }

void IndexWatch::set(int64_t value, bool only_up) {
    std::vector<std::shared_ptr<Waiter>> ready;
    {
        std::lock_guard lock(mutex_);
        if (only_up && value <= value_.load(std::memory_order_relaxed)) return;
        value_.store(value, std::memory_order_release);
        auto end = waiters_.upper_bound(value);
        for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(it->second);
        waiters_.erase(waiters_.begin(), end);
    }
    for (auto& waiter : ready) fire(waiter, true);
}

void IndexWatch::wait(int64_t target, std::chrono::milliseconds timeout,
                      std::function<void(bool)> done) {
    auto waiter = std::make_shared<Waiter>(ioc_);
    waiter->done = std::move(done);
    {
        std::lock_guard lock(mutex_);
        if (value_.load(std::memory_order_relaxed) < target) {
            waiters_.emplace(target, waiter);
            waiter->timer.expires_after(timeout);
            waiter->timer.async_wait([this, waiter, target](beast::error_code ec) {
                if (ec) return;  // cancelled: the target was reached
                {
                    std::lock_guard lock(mutex_);
                    auto [first, last] = waiters_.equal_range(target);
                    for (auto it = first; it != last; ++it)
                        if (it->second == waiter) {
                            waiters_.erase(it);
                            break;
                        }
                }
                fire(waiter, false);
            });
            return;
        }
    }
    fire(waiter, true);
}

void IndexWatch::fire(const std::shared_ptr<Waiter>& waiter, bool reached) {
    if (waiter->fired.exchange(true)) return;
    // The timer belongs to the io_context: cancel it there, and run the callback there.
    net::post(ioc_, [waiter, reached] {
        waiter->timer.cancel();
        waiter->done(reached);
    });
}

}  // namespace sqlrep
