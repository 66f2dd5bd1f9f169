#pragma once
// The write sequencer: the one thread that owns the master's writer connection and so
// decides the order of every write. It takes every request waiting (group commit), runs
// each in its own savepoint inside one transaction, records what each one changed (its
// effects: the entry replicas apply), gives each success the next log index, and commits
// the whole group with one fsync. run_group() reads top to bottom as
// the write path; docs/ARCHITECTURE.md explains why it is shaped this way.
//
// A request may carry a request_id (stored in its entry). The sequencer remembers the
// outcome of the last kRememberedIds ids it committed, rebuilt from the log's last
// kRememberedIds entries when it starts (so a new master knows the ids of every entry it
// holds): a request whose id is known does not run, and gets the first outcome, flagged
// duplicate. The same id twice in one group: the second gets the first's outcome.
//
// submit() is thread-safe and never blocks on SQLite. Completions run on the writer
// thread: they must be quick and must not call back into the sequencer.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "shared/connection.hpp"
#include "shared/effect_recorder.hpp"
#include "shared/error.hpp"
#include "shared/log_entry.hpp"
#include "shared/published_index.hpp"
#include "shared/replication_log.hpp"
#include "shared/sql_executor.hpp"
#include "shared/write_transaction.hpp"

namespace sqlrep::master {

struct WriteOutcome {
    std::optional<Error> error;  // set when the request failed and changed nothing
    int64_t index = 0;           // the entry's log index on success
    // On an error, `results` holds those of the statements before the failing one (rolled
    // back with it).
    ExecutionResult result;
    // The request_id was seen before: this is the first request's outcome; nothing ran.
    bool duplicate = false;
    // A duplicate's result may be partly forgotten: an id rebuilt from the log has neither
    // (only its index), and a large `results` is not kept.
    bool counts_known = true;   // result.rows_affected and result.last_insert_id
    bool results_known = true;  // result.results
};

class Sequencer {
  public:
    using Done = std::function<void(WriteOutcome)>;

    // Takes over the writer connection (closed by stop()). `on_commit(index)` is called on
    // the writer thread after each group is durable, with the last committed index.
    // `request_timeout` bounds how long one request may run on the writer. `published`
    // is told the index of every commit, for reads.
    Sequencer(std::unique_ptr<Connection> writer, int64_t term,
              std::chrono::milliseconds request_timeout, std::function<void(int64_t)> on_commit,
              PublishedIndex& published);
    ~Sequencer();
    Sequencer(const Sequencer&) = delete;
    Sequencer& operator=(const Sequencer&) = delete;

    // `floor()` gives the highest index the log may be trimmed to (everything every
    // replica has acked, less the retention). Checked after commits; set before start().
    void set_trim_floor(std::function<int64_t()> floor) { trim_floor_ = std::move(floor); }

    // `publish(entries)` hands a group's entries to the stream as soon as its COMMIT has
    // written them to the WAL, so replicas apply them while the master's fsync runs (or
    // right after COMMIT when no fsync happens, --sync normal). If that COMMIT then fails,
    // `retract(index)` says every entry after `index` was never committed. Both run on the
    // writer thread and must not block. Set before start().
    void set_publisher(std::function<void(const std::vector<Entry>&)> publish,
                       std::function<void(int64_t)> retract) {
        publish_ = std::move(publish);
        retract_ = std::move(retract);
    }

    void start();
    // Finishes the group in progress, fails what is still queued with `reason` (as
    // unavailable: never applied), joins the thread and closes the writer connection.
    void stop(const std::string& reason = "the master is shutting down");

    // Queues one write: the statements run as one atomic unit and become one entry.
    // `rule` is write, or data_write for a client that may not change the schema.
    // `request_id` ("" for none) must satisfy valid_request_id.
    void submit(std::vector<SqlStatement> statements, Done done,
                ExecutionRule rule = ExecutionRule::write, std::string request_id = "");

    // Replaces the whole database with the checked file at `path` (database_upload.hpp) as
    // one restore entry (restore_entry.hpp), in order with the writes queued around it;
    // `digest` describes the data. The file is consumed (removed afterwards). `done` gets
    // the entry's index, or the error (nothing changed then).
    void submit_restore(std::string path, std::string digest, Done done);
    // Queues one of sqlrep's own writes (a change sink's position, master/sink_runner.hpp):
    // like submit(), but its statements may use the reserved _sqlrep_* tables. It becomes
    // an entry like any other, so replicas apply it and a new master finds it.
    void submit_internal(std::vector<SqlStatement> statements, Done done);

    // How many request ids (the most recent) the sequencer remembers.
    static constexpr std::size_t kRememberedIds = 10000;

    // The oldest entry still in the log (any thread).
    int64_t log_first_index() const { return first_index_.load(); }

  private:
    struct Pending {
        std::vector<SqlStatement> statements;
        Done done;
        ExecutionRule rule;
        std::string request_id;
        // Set for a restore (submit_restore): the prepared file and its digest. A restore
        // runs alone, never in a group.
        std::string restore_path{};
        std::string restore_digest{};
        bool internal = false;  // sqlrep's own write (submit_internal)
    };

    void enqueue(Pending p);
    void run();
    void run_group(std::vector<Pending>& group);
    void run_restore(Pending& restore);
    std::optional<Entry> run_one(Pending& request, WriteOutcome& outcome);
    void commit_group(WriteTransaction& transaction, std::vector<Entry>& written);
    void maybe_trim();
    void remember(const std::string& request_id, const WriteOutcome& outcome);

    std::unique_ptr<Connection> writer_;
    const int64_t term_;
    const std::chrono::milliseconds request_timeout_;
    std::function<void(int64_t)> on_commit_;
    std::function<int64_t()> trim_floor_;
    std::function<void(const std::vector<Entry>&)> publish_;
    std::function<void(int64_t)> retract_;
    std::unique_ptr<EffectRecorder> recorder_;  // on writer_: each request's effects

    // writer thread only
    LogPosition last_;
    std::atomic<int64_t> first_index_{1};  // the oldest entry still in the log
    PublishedIndex& published_;
    // The outcomes of recent request ids (duplicate set), oldest first in remembered_order_.
    std::unordered_map<std::string, WriteOutcome> remembered_;
    std::deque<std::string> remembered_order_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<Pending> queue_;  // guarded by mutex_
    bool stopping_ = false;       // guarded by mutex_
    std::string stop_reason_;     // guarded by mutex_
    std::thread thread_;
};

}  // namespace sqlrep::master
