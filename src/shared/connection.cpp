#include "shared/connection.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include "shared/checkpointer.hpp"
#include "shared/error.hpp"
#include "shared/sqlrep_vfs.hpp"

namespace sqlrep {
namespace {

// Process-wide settings, before SQLite initialises (the first open or VFS lookup). SQLite
// keeps memory statistics under a global mutex on every allocation, and Debian's build has
// no lookaside, so it allocates often; sqlrep never reads those statistics.
void configure_sqlite_once() {
    static std::once_flag once;
    std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

// Interrupts statements that run past their connection's deadline. The progress handler
// only runs between opcodes, so one opcode that loops by itself (OP_Count over a large
// table, a checkpoint-sized sort) would otherwise run to its end; sqlite3_interrupt
// stops those, and may be called from any thread while the connection works.
// One thread per process, started with the first connection and never stopped (it holds
// no resource but the list below, which every connection leaves before it closes).
class Watchdog {
  public:
    static Watchdog& instance() {
        static Watchdog* watchdog = new Watchdog;  // never destroyed: its thread outlives main
        return *watchdog;
    }
    void add(Connection* conn) {
        std::lock_guard lock(mutex_);
        watched_.push_back(conn);
    }
    void remove(Connection* conn) {
        std::lock_guard lock(mutex_);
        watched_.erase(std::remove(watched_.begin(), watched_.end(), conn), watched_.end());
    }

  private:
    // How often deadlines are looked at: a late single step overruns its deadline by
    // at most about this much.
    static constexpr auto kTick = std::chrono::milliseconds(10);

    Watchdog() {
        std::thread([this] {
            for (;;) {
                std::this_thread::sleep_for(kTick);
                std::lock_guard lock(mutex_);
                for (Connection* conn : watched_) conn->interrupt_if_late();
            }
        }).detach();
    }

    std::mutex mutex_;
    std::vector<Connection*> watched_;  // guarded by mutex_
};

}  // namespace

Connection::Connection(const std::string& path, Mode mode, SyncMode sync) : mode_(mode) {
    configure_sqlite_once();
    int flags =
        mode == Mode::writer ? SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE : SQLite::OPEN_READONLY;
    flags |= SQLITE_OPEN_NOMUTEX;  // one thread at a time by contract
    try {
        db_ = std::make_unique<SQLite::Database>(path, flags, 5000, sqlrep_vfs_name());
        if (mode == Mode::writer) {
            db_->exec("PRAGMA journal_mode=WAL");
            db_->exec(sync == SyncMode::full ? "PRAGMA synchronous=FULL"
                                             : "PRAGMA synchronous=NORMAL");
            // SQLite's own checkpoint, in the committing thread, for writers that do not
            // checkpoint_in_background() (snapshots, tests), at the same WAL length.
            db_->exec("PRAGMA wal_autocheckpoint=" + std::to_string(Checkpointer::kStartFrames));
        }
        db_->exec("PRAGMA cache_size=-16000");  // 16 MiB per connection
        // SQLite's default allows a 1 GB string or blob, which one query can make out of
        // nothing (zeroblob, hex, replace): keep any single value below the 64 MiB result cap.
        sqlite3_limit(db_->getHandle(), SQLITE_LIMIT_LENGTH, kMaxValueBytes);
    } catch (const SQLite::Exception& e) {
        throw Error(ErrorKind::internal, "cannot open " + path + ": " + e.what());
    }
    policy_.install(db_->getHandle());
    sqlite3_progress_handler(db_->getHandle(), 1000, &on_progress, this);
    Watchdog::instance().add(this);
}

namespace {
// Bounds the client statement cache: a workload of more distinct statements than this
// starts over with an empty cache (prepared statements hold a few KiB each).
constexpr std::size_t kMaxClientStatements = 128;
constexpr std::size_t kMaxClientStatementBytes = 4096;
}  // namespace

Connection::~Connection() {
    Watchdog::instance().remove(this);  // before anything closes
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    for (auto& [sql, kept] : client_cache_) sqlite3_finalize(kept.stmt);
}

const Connection::ClientStatement* Connection::find_client_statement(const std::string& sql) const {
    auto it = client_cache_.find(sql);
    return it == client_cache_.end() ? nullptr : &it->second;
}

void Connection::keep_client_statement(const std::string& sql, sqlite3_stmt* stmt, bool inserts,
                                       bool short_steps) {
    if (sql.size() > kMaxClientStatementBytes || client_cache_.count(sql)) {
        sqlite3_finalize(stmt);
        return;
    }
    if (client_cache_.size() >= kMaxClientStatements) {
        for (auto& [text, kept] : client_cache_) sqlite3_finalize(kept.stmt);
        client_cache_.clear();
    }
    client_cache_.emplace(sql, ClientStatement{stmt, inserts, short_steps});
}

Connection::CachedStatement::~CachedStatement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

Connection::CachedStatement Connection::cached(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v3(handle(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                               nullptr) != SQLITE_OK)
            throw Error(ErrorKind::internal,
                        "cannot prepare internal SQL: " + std::string(sqlite3_errmsg(handle())));
        it = cache_.emplace(sql, stmt).first;
    }
    return CachedStatement(it->second);
}

void Connection::checkpoint_in_background(int start_frames) {
    if (!checkpointer_)
        checkpointer_ = std::make_unique<Checkpointer>(
            handle(), db_->getFilename(), sqlrep_vfs_name(),
            start_frames > 0 ? start_frames : Checkpointer::kStartFrames);
}

sqlite3* Connection::handle() const { return db_->getHandle(); }

std::string Connection::path() const { return sqlite3_db_filename(handle(), "main"); }

bool Connection::in_transaction() const { return sqlite3_get_autocommit(handle()) == 0; }

void Connection::exec_internal(const std::string& sql) {
    // sqlrep's own SQL is never cut off by a client's deadline: a COMMIT cut off would
    // leave the connection inside its transaction, every later BEGIN on it failing and its
    // snapshot keeping checkpoints from finishing. (SQLite calls the progress handler
    // every 1000 VM steps of a statement's whole life, so even a kept COMMIT meets it.)
    // The watchdog must not interrupt it either, hence set_deadline rather than deadline_.
    // Without a deadline (a read's BEGIN and COMMIT, every write's) there is nothing to lift.
    struct LiftDeadline {
        Connection& c;
        int64_t kept = c.deadline_.load(std::memory_order_relaxed);
        ~LiftDeadline() {
            if (kept != kNoDeadline)
                c.set_deadline(std::chrono::steady_clock::time_point(
                    std::chrono::steady_clock::duration(kept)));
        }
    } lift{*this};
    if (lift.kept != kNoDeadline) set_deadline(std::chrono::steady_clock::time_point::max());
    internal([&] {
        if (sql.find(';') == std::string::npos) {
            // One statement, such as the SAVEPOINT/RELEASE/COMMIT of every write: keep it
            // prepared instead of parsing it again each time.
            auto stmt = cached(sql);
            int rc;
            while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
            }
            if (rc != SQLITE_DONE)
                throw Error(ErrorKind::internal,
                            "internal SQL failed (" + sql + "): " + sqlite3_errmsg(handle()));
            return;
        }
        char* message = nullptr;
        if (sqlite3_exec(handle(), sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message ? message : sqlite3_errmsg(handle());
            sqlite3_free(message);
            throw Error(ErrorKind::internal, "internal SQL failed (" + sql + "): " + text);
        }
    });
}

void Connection::set_deadline(std::chrono::steady_clock::time_point deadline) {
    bool lifted = deadline == std::chrono::steady_clock::time_point::max();
    deadline_.store(lifted ? kNoDeadline : deadline.time_since_epoch().count());
    // An owner that lifts its deadline waits until an interrupt the watchdog decided on
    // has been delivered, so none can land on the internal SQL that follows (see
    // interrupt_if_late). The wait is that of one sqlite3_interrupt call.
    if (lifted)
        while (interrupting_.load()) std::this_thread::yield();
}

void Connection::interrupt_if_late() {
    // Dekker's handshake with set_deadline, every access sequentially consistent: this
    // thread raises interrupting_, then reads the deadline; the owner stores its deadline,
    // then reads interrupting_. Either the watchdog reads the lifted deadline (and does
    // nothing), or the owner sees interrupting_ and waits for the interrupt to be
    // delivered. (One that lands after the client's statement ended is dropped by SQLite:
    // the flag is cleared when the connection's next statement starts with none running.)
    interrupting_.store(true);
    if (deadline_passed()) sqlite3_interrupt(handle());
    interrupting_.store(false);
}

void Connection::set_value_limit(std::size_t bytes) {
    sqlite3_limit(handle(), SQLITE_LIMIT_LENGTH,
                  static_cast<int>(std::min(bytes, static_cast<std::size_t>(kMaxValueBytes))));
}

bool Connection::deadline_passed() const {
    int64_t deadline = deadline_.load();
    return deadline != kNoDeadline &&
           std::chrono::steady_clock::now().time_since_epoch().count() > deadline;
}

int Connection::on_progress(void* self) {
    return static_cast<Connection*>(self)->deadline_passed() ? 1 : 0;
}

}  // namespace sqlrep
