#include "shared/write_queue.hpp"

#include <algorithm>
#include <chrono>

namespace sqlrep {

std::optional<int64_t> WriteQueue::push(Task task, std::function<void(int64_t)> applied) {
    int64_t sequence;
    {
        std::lock_guard lock(mutex_);
        if (waiting_.size() >= capacity_) return std::nullopt;
        int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        sequence = last_sequence_ = std::max(last_sequence_ + 1, now);
        waiting_.push_back(Queued{std::move(task), sequence, std::move(applied)});
    }
    start_next();
    return sequence;
}

std::size_t WriteQueue::depth() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
}

void WriteQueue::start_next() {
    Task task;
    {
        std::lock_guard lock(mutex_);
        if (running_ || waiting_.empty()) return;
        running_ = true;
        task = waiting_.front().task;
    }
    task([this] { finished(); });
}

void WriteQueue::finished() {
    std::function<void(int64_t)> applied;
    int64_t sequence;
    {
        std::lock_guard lock(mutex_);
        applied = std::move(waiting_.front().applied);
        sequence = waiting_.front().sequence;
        waiting_.pop_front();
        running_ = false;
    }
    if (applied) applied(sequence);
    start_next();
}

}  // namespace sqlrep
