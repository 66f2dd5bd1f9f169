#pragma once
// Applies the master's entries on a replica. Every entry is checked in full before it
// touches the database (index = applied + 1, the hash chains from ours), then a batch is
// applied in one transaction that also appends the entries to this node's own log, so
// the applied index and the data can never disagree, and a crash at any moment leaves
// the replica at a clean index. An entry's effects are applied and checked row by row
// (effect_applier.hpp): a row that is not here exactly as the master had it is
// divergence, caught at that entry.
//
// Owns the replica's writer connection while the replica role lasts; used only by the
// follower thread (and close(), once that thread has stopped).

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "shared/connection.hpp"
#include "shared/effect_applier.hpp"
#include "shared/log_entry.hpp"
#include "shared/published_index.hpp"
#include "shared/replication_log.hpp"

namespace sqlrep::replica {

// Thrown by Applier::apply when it reaches a restore entry (the master replaced the whole
// database, effects.hpp): the entries before it are applied, and the replica must install
// a snapshot taken at or after `index`. A signal, not a failure.
class SnapshotNeeded : public std::runtime_error {
  public:
    explicit SnapshotNeeded(int64_t index)
        : std::runtime_error("entry " + std::to_string(index) +
                             " restored the whole database: a snapshot is needed"),
          index_(index) {}
    int64_t index() const { return index_; }

  private:
    int64_t index_;
};

class Applier {
  public:
    // Keeps the last `log_retain` entries of this replica's own log. `published` is told
    // the index of every commit, for reads.
    Applier(std::unique_ptr<Connection> writer, int64_t log_retain, PublishedIndex& published);
    Applier(const Applier&) = delete;
    Applier& operator=(const Applier&) = delete;

    // The last applied entry (index 0 for an empty database).
    // Follower thread only.
    const LogPosition& position() const { return position_; }

    // The oldest entry still in the log (any thread).
    int64_t log_first_index() const { return first_index_.load(); }

    // The term of the last applied entry; any thread.
    int64_t term() const { return term_.load(); }

    // Closes the writer connection (the node's next role opens its own).
    void close();

    // Applies `entries` atomically, all or nothing. Throws Error(conflict) when they do
    // not continue this replica's log (a gap or a repeat: reconnect and resume),
    // Error(diverged) when the hash chain breaks or an entry's effects do not apply here
    // exactly as they did on the master. Throws SnapshotNeeded, after applying the entries
    // before it, when one of them is a restore entry.
    void apply(const std::vector<Entry>& entries);

    // Replaces the whole database with a verified snapshot file, atomically, and takes
    // its position.
    void install_snapshot(const std::string& path);

  private:
    void check(const LogPosition& previous, const Entry& entry) const;

    std::unique_ptr<Connection> writer_;
    const int64_t log_retain_;
    std::unique_ptr<EffectApplier> effects_;  // on writer_
    LogPosition position_;
    std::atomic<int64_t> first_index_{1};  // the oldest entry still in the log
    std::atomic<int64_t> term_{0};
    PublishedIndex& published_;
};

}  // namespace sqlrep::replica
