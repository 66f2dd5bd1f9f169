#pragma once
// The master's most recent entries, each encoded once for the stream and kept in
// memory. Stream sessions build their batches from here instead of reading the log back
// through the read pool and encoding per replica; a replica further behind than the ring
// reaches is served from the log as before.
//
// The ring may run ahead of the committed index: the sequencer publishes a group as soon
// as its COMMIT has written it to the WAL, while the fsync still runs, and retracts it if
// that COMMIT fails (docs/ARCHITECTURE.md, "Streaming during the master's fsync").
//
// Thread-safe: publish()/retract() from the writer thread, the rest from any thread.

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shared/log_entry.hpp"

namespace sqlrep::master {

class EntryRing {
  public:
    // Keeps at most `max_entries` entries and about `max_bytes` of encoded entries.
    EntryRing(std::size_t max_entries, std::size_t max_bytes);
    EntryRing(const EntryRing&) = delete;
    EntryRing& operator=(const EntryRing&) = delete;

    // Appends entries that continue the ring (a gap restarts it). Encodes each once.
    void publish(const std::vector<Entry>& entries);

    // Drops every entry after `index`: their COMMIT failed, they were never committed.
    // Returns whether it dropped any.
    bool retract(int64_t index);

    // The highest index published (0 when nothing was).
    int64_t last_index() const;

    // The hash of entry `index` when the ring holds it.
    std::optional<Hash> hash_at(int64_t index) const;

    struct Batch {
        std::string message;  // a complete entries frame
        int64_t last = 0;     // index of its last entry
    };
    // Entries from `from` on (at most `max_entries`, about `max_bytes`), as one stream
    // message. nullopt when the ring no longer (or not yet) holds `from`: read the log.
    // A Batch with last == 0 when nothing from `from` on is published yet.
    std::optional<Batch> batch(int64_t from, std::size_t max_entries, std::size_t max_bytes) const;

  private:
    struct Slot {
        Hash hash;
        std::shared_ptr<const std::string> encoded;
    };
    void evict_locked();

    const std::size_t max_entries_;
    const std::size_t max_bytes_;

    mutable std::mutex mutex_;
    std::deque<Slot> slots_;  // guarded by mutex_; slots_[i] is entry first_ + i
    int64_t first_ = 0;       // guarded by mutex_; 0 while empty
    std::size_t bytes_ = 0;   // guarded by mutex_
};

}  // namespace sqlrep::master
