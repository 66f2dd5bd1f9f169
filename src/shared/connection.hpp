#pragma once
// One SQLite connection set up the sqlrep way: WAL, the sqlrep VFS, the statement policy
// (authorizer). This is the one unit that includes SQLiteCpp.
//
// A connection is used by one thread at a time; it is not internally synchronised. The one
// exception is its deadline: a watchdog thread interrupts (sqlite3_interrupt) a statement
// still running past it, which stops the steps the progress handler never sees, such as
// the count(*) of a whole table done in one opcode.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "shared/statement_policy.hpp"

namespace SQLite {
class Database;
}
struct sqlite3;
struct sqlite3_stmt;

namespace sqlrep {

class Checkpointer;

// The largest string, blob or row any connection creates or reads. Request bodies (and so
// log entries) stay well below it: --max-body-bytes is capped at half of it.
inline constexpr int kMaxValueBytes = 64 * 1024 * 1024;

enum class SyncMode { full, normal };

// Told about each schema statement a client runs on a connection, just before SQLite steps
// it and just after it has finished (sql_executor calls both; the master's EffectRecorder
// listens). Throwing from either fails the statement.
class StatementObserver {
  public:
    virtual ~StatementObserver() = default;
    virtual void before_schema_statement(sqlite3_stmt* stmt) = 0;
    virtual void after_schema_statement(sqlite3_stmt* stmt) = 0;
};

class Connection {
  public:
    enum class Mode { writer, reader };

    // Opens (creating if `mode` is writer) the database at `path`.
    Connection(const std::string& path, Mode mode, SyncMode sync = SyncMode::full);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* handle() const;
    // The database file's path, as SQLite resolved it.
    std::string path() const;

    // The observer of schema statements, or null; not owned.
    StatementObserver* statement_observer() const { return observer_; }
    void set_statement_observer(StatementObserver* observer) { observer_ = observer; }
    StatementPolicy& policy() { return policy_; }
    Mode mode() const { return mode_; }

    // Moves this writer's checkpoints to a thread of their own (checkpointer.hpp); the
    // master's and the replica's writers do, so that no commit waits for one.
    // `start_frames` is for tests; nodes use the default (Checkpointer::kStartFrames).
    void checkpoint_in_background(int start_frames = 0);

    // Whether a transaction is open (SQLite may roll one back by itself on some errors).
    bool in_transaction() const;

    // Runs sqlrep's own SQL (no results), with the reserved tables allowed and no deadline.
    void exec_internal(const std::string& sql);

    // Interrupts any statement that runs past `deadline` (progress handler, and the
    // watchdog thread within a few ms for a long single step); pass time_point::max() to
    // lift the limit. Once set_deadline(max) has returned, the watchdog no longer touches
    // the connection. Lock-free: a read sets and lifts one per request.
    void set_deadline(std::chrono::steady_clock::time_point deadline);
    // Any thread.
    bool deadline_passed() const;

    // The largest string or blob SQLite may build or read on this connection
    // (SQLITE_LIMIT_LENGTH), at most kMaxValueBytes. Read connections take it from
    // --max-result-bytes, so no single value of a read can outgrow the result cap.
    void set_value_limit(std::size_t bytes);

    // Runs fn with the reserved tables allowed; restores client rules afterwards.
    template <typename Fn>
    auto internal(Fn&& fn) {
        struct Restore {
            StatementPolicy& p;
            bool was;
            ~Restore() { p.set_internal(was); }
        } restore{policy_, policy_.internal()};
        policy_.set_internal(true);
        return fn();
    }

    // A prepared statement for sqlrep's own SQL, kept for the connection's lifetime.
    // The returned handle resets the statement when it goes out of scope. Use inside
    // internal(): re-preparation after a schema change runs the authorizer again.
    class CachedStatement {
      public:
        explicit CachedStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
        ~CachedStatement();
        CachedStatement(const CachedStatement&) = delete;
        CachedStatement& operator=(const CachedStatement&) = delete;
        sqlite3_stmt* get() const { return stmt_; }

      private:
        sqlite3_stmt* stmt_;
    };
    CachedStatement cached(const std::string& sql);

    // Client statements already prepared on this connection, found by their exact text,
    // so a statement sent again skips SQLite's parser and the authorizer. sql_executor
    // decides what may be kept (single statements the policy passed as plain reads or
    // writes) and resets a statement after each use. `inserts` is the policy's verdict
    // from the prepare. SQLite re-prepares a kept statement by itself after a schema
    // change, running the authorizer again.
    // `short_steps`: its program has no opcode that may run long in one step (whole-table
    // count, sort, virtual table, function call; see sql_executor), so the deadline stops
    // it within a few microseconds: such a statement may run on an I/O thread.
    struct ClientStatement {
        sqlite3_stmt* stmt = nullptr;
        bool inserts = false;
        bool short_steps = false;
    };
    const ClientStatement* find_client_statement(const std::string& sql) const;
    // Takes ownership of `stmt`.
    void keep_client_statement(const std::string& sql, sqlite3_stmt* stmt, bool inserts,
                               bool short_steps);

    // For the watchdog (connection.cpp): interrupts the running statement when the deadline
    // has passed. Any thread.
    void interrupt_if_late();

  private:
    static int on_progress(void* self);

    Mode mode_;
    std::unique_ptr<SQLite::Database> db_;
    std::unique_ptr<Checkpointer> checkpointer_;  // declared after db_: stops before it closes
    StatementPolicy policy_;
    StatementObserver* observer_ = nullptr;
    std::map<std::string, sqlite3_stmt*> cache_;
    std::unordered_map<std::string, ClientStatement> client_cache_;
    // The deadline as steady_clock ticks (kNoDeadline: none). Written by the owning thread
    // only, read by the watchdog and the progress handler; no lock (see interrupt_if_late
    // for how the two threads agree without one).
    static constexpr int64_t kNoDeadline = INT64_MAX;
    std::atomic<int64_t> deadline_{kNoDeadline};
    // True while the watchdog decides on and delivers an interrupt.
    std::atomic<bool> interrupting_{false};
};

}  // namespace sqlrep
