#pragma once
// Runs one change sink on the master: its own thread reads committed entries from the log
// after the sink's position (on a read connection of its own, never on the write path:
// a write never waits for a sink), turns them into changes, hands them to the sink one
// batch at a time, and moves its position only when the sink says the batch was
// acknowledged. A failed batch is sent again after an exponential backoff (capped).
//
// The position is durable and replicated: it is a row of _sqlrep_cdc, written by an
// internal entry through the sequencer (at most about once a second, and only when the
// sink delivered something since), so a restarted master or a new one after a failover
// carries on from the last position written; what was delivered after it is delivered
// again (at least once: receivers drop repeats by index). Those entries touch nothing but
// _sqlrep_cdc and give no changes, so a sink never wakes itself up.
//
// A sink only delivers what the default ack mode has acknowledged (a quorum by default),
// so it never announces a change a failover could take back. When the log no longer holds
// the entries after the position (trimmed: the master holds trimming back for a sink, up
// to kMaxHold entries), the runner logs an error, counts a gap, says which indexes were
// lost in /status and carries on from the oldest entry still held.
//
// start() and stop() from the role's thread; status(), wake() and persisted() from any.
// stop() may wait for a delivery in progress (bounded by the sink's own timeout).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "master/change_sink.hpp"
#include "master/sequencer.hpp"
#include "shared/change_events.hpp"
#include "shared/connection.hpp"
#include "shared/json.hpp"
#include "shared/log_entry.hpp"
#include "shared/replication_log.hpp"

namespace sqlrep::master {

class SinkRunner {
  public:
    // How far the log may be kept for a sink that is behind: trimming waits for the sink
    // until it is this many entries behind the last index.
    static constexpr int64_t kMaxHold = kSinkMaxHold;
    // At most this many entries (and about this many bytes of them) are read at once,
    // and at most kBatchChanges changes go in one delivery.
    static constexpr std::size_t kBatchEntries = 512;
    static constexpr std::size_t kBatchBytes = 4 * 1024 * 1024;
    static constexpr std::size_t kBatchChanges = 1000;
    // Retry backoff after a failed delivery: doubles from the first to the cap.
    static constexpr std::chrono::milliseconds kFirstBackoff{100};
    static constexpr std::chrono::milliseconds kMaxBackoff{10'000};
    // The position is written at most this often.
    static constexpr std::chrono::milliseconds kPersistEvery{1000};

    // `deliverable()`: the highest index the sink may deliver now (committed and acked as
    // the default ack mode asks). `may_write()`: whether this node may write its position
    // now (not while fenced or giving up the role: such an entry would only have to be
    // rewound). `sequencer` writes the position; it must outlive stop().
    SinkRunner(std::unique_ptr<ChangeSink> sink, std::string database_path, Sequencer& sequencer,
               std::function<int64_t()> deliverable, std::function<bool()> may_write);
    ~SinkRunner();
    SinkRunner(const SinkRunner&) = delete;
    SinkRunner& operator=(const SinkRunner&) = delete;

    void start();
    void stop();
    // New entries may be deliverable: look now rather than at the next poll.
    void wake();

    // The last position written to _sqlrep_cdc (what a new master would resume from).
    int64_t persisted() const { return shared_->persisted.load(); }
    // {"sink", "position", "persisted_position", "lag", "delivered", "failures", "gaps",
    //  "state", "last_error"}; lag is against `last_index`.
    json::object status(int64_t last_index) const;

  private:
    // What the sequencer's completion (on the writer thread) may touch, shared so that it
    // outlives the runner.
    struct Shared {
        std::atomic<int64_t> persisted{0};
        std::atomic<bool> persisting{false};
    };

    void run();
    void deliver_loop();
    // Delivers `changes`, retrying until acknowledged; false when stopping first.
    bool deliver_with_retry(const std::vector<SinkChange>& changes);
    void persist_if_due(bool force);
    // Waits up to `wait` or until woken or stopping; false when stopping.
    bool sleep_for(std::chrono::milliseconds wait, bool until_woken);
    void set_error(std::string error);

    // fixed after construction
    std::unique_ptr<ChangeSink> sink_;
    const std::string database_path_;
    Sequencer& sequencer_;
    std::function<int64_t()> deliverable_;
    std::function<bool()> may_write_;
    std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();

    // runner thread only
    // The last index whose changes were delivered (or lost to a gap): a position write is
    // due while persisted() is below it.
    int64_t worth_persisting_ = 0;
    std::chrono::steady_clock::time_point last_persist_{};

    std::atomic<int64_t> position_{0};  // acknowledged by the sink
    std::atomic<uint64_t> delivered_{0};
    std::atomic<uint64_t> failures_{0};
    std::atomic<uint64_t> gaps_{0};
    std::atomic<bool> failing_{false};

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;   // guarded by mutex_
    bool woken_ = false;      // guarded by mutex_
    std::string last_error_;  // guarded by mutex_
    std::thread thread_;
};

// The changes of one entry (shared/change_events.hpp), in order, without those of sqlrep's
// reserved tables (a sink's own position). Runs on the thread that owns `conn`.
std::vector<SinkChange> sink_changes(ChangeEvents& events, Connection& conn, const Entry& entry);

}  // namespace sqlrep::master
