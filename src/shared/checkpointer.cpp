#include "shared/checkpointer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "shared/error.hpp"

namespace sqlrep {

Checkpointer::Checkpointer(sqlite3* writer, const std::string& path, const char* vfs,
                           int start_frames)
    : writer_(writer), start_frames_(start_frames) {
    if (sqlite3_open_v2(path.c_str(), &own_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs) !=
        SQLITE_OK) {
        std::string message = own_ ? sqlite3_errmsg(own_) : "out of memory";
        sqlite3_close(own_);
        throw Error(ErrorKind::internal, "cannot open " + path + " to checkpoint: " + message);
    }
    // A connection only opens the WAL when it first reads; until then a checkpoint on it
    // would do nothing.
    sqlite3_busy_timeout(own_, 5000);
    sqlite3_exec(own_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    thread_ = std::thread(&Checkpointer::run, this);
    sqlite3_wal_hook(writer, &Checkpointer::on_commit, this);
}

Checkpointer::~Checkpointer() {
    sqlite3_wal_hook(writer_, nullptr, nullptr);
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    sqlite3_close(own_);
}

int Checkpointer::on_commit(void* self, sqlite3* writer, const char* schema, int frames) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    State was;
    {
        std::lock_guard lock(checkpointer->mutex_);
        was = checkpointer->state_;
        if (frames < checkpointer->start_frames_) {
            // A short WAL with a copy to finish means the WAL restarted without us: the
            // background copy caught up with an idle writer. Nothing is left to finish,
            // and finishing later would copy a whole new WAL on this thread.
            if (was == State::finish_due) checkpointer->state_ = State::idle;
            return SQLITE_OK;
        }
        if (was == State::idle) checkpointer->state_ = State::copying;
        if (was == State::finish_due) checkpointer->state_ = State::idle;
    }
    if (was == State::idle) checkpointer->wake_.notify_one();
    if (was == State::finish_due) {
        // The background copy is done: copy what came after it, here, so that nothing
        // new lands before this thread's next transaction restarts the WAL.
        int rc =
            sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            spdlog::warn("checkpoint failed: {}", sqlite3_errmsg(writer));
    }
    return SQLITE_OK;
}

void Checkpointer::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || state_ == State::copying; });
        if (stopping_) return;
        lock.unlock();
        int rc =
            sqlite3_wal_checkpoint_v2(own_, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            spdlog::warn("background checkpoint failed: {}", sqlite3_errmsg(own_));
        lock.lock();
        state_ = State::finish_due;
    }
}

}  // namespace sqlrep
