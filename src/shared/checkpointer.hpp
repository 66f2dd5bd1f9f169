#pragma once
// Keeps SQLite's checkpoints off the writer's thread.
//
// SQLite's own auto-checkpoint runs in the thread that commits, right after the commit, and
// copies every page the WAL touched back into the database file: on a busy node that is a
// 15-20 ms stall of the master's write path or the replica's apply every second or so, and
// it is what set the replication lag's tail (docs/PERFORMANCE.md).
//
// A Checkpointer replaces it. Past a number of WAL frames, a thread of its own, on a
// connection of its own, runs a PASSIVE checkpoint, which never blocks the writer. But the
// WAL only starts over from its beginning when a writer begins a transaction with every
// frame already copied, and under steady writes new frames land while the background copy
// runs. So once that copy is done, the writer's next commit copies the few frames that
// came in meanwhile itself (short: the pages are few and mostly already synced), and the
// writer's next transaction restarts the WAL. If a reader kept that from completing, the
// next commit past the start starts another round.
//
// Owned by the writer's Connection and destroyed before it closes.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace sqlrep {

class Checkpointer {
  public:
    // Installs itself as `writer`'s WAL hook (replacing the auto-checkpoint) and opens its
    // own connection to `path` through `vfs`. A checkpoint syncs the WAL before copying
    // and the database file after, whatever the writer's --sync.
    Checkpointer(sqlite3* writer, const std::string& path, const char* vfs, int start_frames);
    ~Checkpointer();
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    // WAL frames that start a background checkpoint by default: 64 MiB at 4 KiB pages. A
    // longer WAL makes every page lookup walk a longer WAL index; a shorter one makes
    // rounds, and the writer's short share of each, more frequent.
    static constexpr int kStartFrames = 16000;

  private:
    enum class State { idle, copying, finish_due };

    // SQLite's WAL hook: runs on the writer's thread after each commit.
    static int on_commit(void* self, sqlite3* writer, const char* schema, int frames);
    void run();

    sqlite3* writer_;
    const int start_frames_;
    sqlite3* own_ = nullptr;
    std::mutex mutex_;
    std::condition_variable wake_;
    State state_ = State::idle;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace sqlrep
