#include "master/entry_ring.hpp"

#include "shared/stream_messages.hpp"

namespace sqlrep::master {

EntryRing::EntryRing(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes) {}

void EntryRing::publish(const std::vector<Entry>& entries) {
    if (entries.empty()) return;
    // Encode outside the lock: sessions keep reading while the writer does this.
    std::vector<Slot> fresh;
    fresh.reserve(entries.size());
    for (const Entry& e : entries)
        fresh.push_back({e.hash, std::make_shared<const std::string>(encode_stream_entry(e))});

    std::lock_guard lock(mutex_);
    if (slots_.empty() || entries.front().index != first_ + static_cast<int64_t>(slots_.size())) {
        slots_.clear();
        bytes_ = 0;
        first_ = entries.front().index;
    }
    for (Slot& slot : fresh) {
        bytes_ += slot.encoded->size();
        slots_.push_back(std::move(slot));
    }
    evict_locked();
}

void EntryRing::evict_locked() {
    // Keep at least the newest entry, whatever its size, so the ring always reaches the tip.
    while (slots_.size() > 1 && (slots_.size() > max_entries_ || bytes_ > max_bytes_)) {
        bytes_ -= slots_.front().encoded->size();
        slots_.pop_front();
        ++first_;
    }
}

bool EntryRing::retract(int64_t index) {
    std::lock_guard lock(mutex_);
    bool dropped = false;
    while (!slots_.empty() && first_ + static_cast<int64_t>(slots_.size()) - 1 > index) {
        bytes_ -= slots_.back().encoded->size();
        slots_.pop_back();
        dropped = true;
    }
    return dropped;
}

int64_t EntryRing::last_index() const {
    std::lock_guard lock(mutex_);
    return slots_.empty() ? 0 : first_ + static_cast<int64_t>(slots_.size()) - 1;
}

std::optional<Hash> EntryRing::hash_at(int64_t index) const {
    std::lock_guard lock(mutex_);
    if (slots_.empty() || index < first_ || index >= first_ + static_cast<int64_t>(slots_.size()))
        return std::nullopt;
    return slots_[static_cast<std::size_t>(index - first_)].hash;
}

std::optional<EntryRing::Batch> EntryRing::batch(int64_t from, std::size_t max_entries,
                                                 std::size_t max_bytes) const {
    std::vector<std::shared_ptr<const std::string>> picked;
    int64_t last = 0;
    {
        std::lock_guard lock(mutex_);
        int64_t end = first_ + static_cast<int64_t>(slots_.size());
        if (slots_.empty() || from < first_) return std::nullopt;
        if (from >= end) return Batch{};
        std::size_t bytes = 0;
        for (int64_t i = from; i < end && picked.size() < max_entries && bytes < max_bytes; ++i) {
            const auto& encoded = slots_[static_cast<std::size_t>(i - first_)].encoded;
            bytes += encoded->size();
            picked.push_back(encoded);
            last = i;
        }
    }
    // Join outside the lock; the shared strings stay alive even if evicted meanwhile.
    std::vector<const std::string*> parts;
    parts.reserve(picked.size());
    for (const auto& p : picked) parts.push_back(p.get());
    return Batch{join_stream_entries(parts), last};
}

}  // namespace sqlrep::master
