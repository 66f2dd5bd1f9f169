#pragma once
// What the master knows about its replicas: which are connected, how far each has acked,
// and therefore how far a quorum and all of them have acked. Writers wait on those two
// indexes through IndexWatch; stream sessions are woken here when new entries commit.
//
// Retraction: a group is streamed before its COMMIT's fsync ends (docs/ARCHITECTURE.md,
// "Streaming during the master's fsync"). When that COMMIT fails, the master takes the
// group back and later entries re-use its indexes, so an ack of such an index says
// nothing about the new entry there. retract() lowers every acked index to what the
// master kept and starts a new epoch: each stream carries the epoch it began in, and the
// acks (and the attach) of a stream from an older epoch are ignored, including those
// still in flight when the retraction happened.
//
// Thread-safe. Sessions are held weakly and notified outside the lock.

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "shared/client_request.hpp"
#include "shared/index_watch.hpp"
#include "shared/net.hpp"

namespace sqlrep::master {

class StreamSession;

class ReplicaRegistry {
  public:
    // The master is node `self_id`; the others are 0..num_replicas besides it.
    ReplicaRegistry(net::io_context& ioc, int num_replicas, int self_id);

    int num_replicas() const { return static_cast<int>(replicas_.size()); }
    // Whether `id` names one of this master's replicas.
    bool is_replica(int id) const;

    // Replicas (besides the master) whose ack a write with `mode` needs.
    int replicas_needed(AckMode mode) const;

    // The current retraction epoch. A stream reads it when it begins, before it checks the
    // replica's position against the master's log, and passes it to attach and record_ack.
    uint64_t epoch() const;

    // A stream for replica `id` opened or closed; `url` is where it serves clients. A
    // newer session for the same id replaces the older one. A session from an older epoch
    // is closed instead (its replica reconnects and is checked against what the master
    // kept).
    void attach(int id, const std::shared_ptr<StreamSession>& session, uint64_t epoch,
                std::string url);
    void detach(int id, const StreamSession* session);

    // Replica `id` has durably applied everything up to `index`, says a stream that began
    // in `epoch`; ignored when the epoch is older than the current one.
    void record_ack(int id, int64_t index, uint64_t epoch);

    // The master gave up every entry after `index` (streamed, never committed): acked
    // indexes above it go back to it, so do the quorum and all indexes writers wait on,
    // a new epoch begins and every stream is closed.
    void retract(int64_t index);

    // New entries are in the EntryRing: wake every stream.
    void notify_entries();
    // The committed index advanced: wake the streams waiting to read the log.
    void notify_commit();
    // Ends every stream (their replicas reconnect and are checked afresh).
    void close_all();

    // done(true) once `index` is acked as `mode` asks, done(false) after `timeout`.
    void wait_for_ack(AckMode mode, int64_t index, std::chrono::milliseconds timeout,
                      std::function<void(bool)> done);

    // The index a quorum (mode quorum) or every replica (mode all) has acked; meaningless
    // for mode master and when replicas_needed(mode) is 0.
    int64_t acked_index(AckMode mode) const {
        return mode == AckMode::all ? all_.value() : quorum_.value();
    }

    // Replicas whose stream is open now.
    int connected() const;
    // What replica `id` has acked (0 when unknown), and its URL ("" before it connected).
    int64_t acked(int id) const;
    std::string url(int id) const;

    // [{"id", "url", "acked_index", "lag", "connected"}] against the master's index.
    json::array status(int64_t master_index) const;

    // The highest index the master's log may be trimmed to: what every configured
    // replica has acked (everything, without replicas), less `retain` entries.
    int64_t trim_floor(int64_t committed, int64_t retain) const;

  private:
    struct Replica {
        int id = 0;
        std::string url;
        int64_t acked = 0;
        std::weak_ptr<StreamSession> session;
        bool connected = false;
    };
    // Moves the quorum and all indexes to what the acked indexes say; only upwards unless
    // `may_go_down` (a retraction).
    void update_watches_locked(bool may_go_down = false);
    // The live sessions, copied out so they are called outside the lock.
    std::vector<std::shared_ptr<StreamSession>> sessions() const;

    net::io_context& ioc_;
    mutable std::mutex mutex_;
    // The replica with `id`: the set of ids is fixed at construction, so finding one
    // needs no lock; its fields do.
    const Replica* find(int id) const;
    Replica& replica_locked(int id);

    std::vector<Replica> replicas_;  // in id order, without the master; guarded by mutex_
    uint64_t epoch_ = 0;             // retractions so far; guarded by mutex_
    IndexWatch quorum_;              // acked by a quorum of replicas
    IndexWatch all_;                 // acked by every replica
};

}  // namespace sqlrep::master
