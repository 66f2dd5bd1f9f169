#pragma once
// The moment a commit has been written to the WAL and is about to be fsynced. The master
// streams a write group to its replicas right then, so their apply-and-fsync overlaps its
// own fsync instead of following it (docs/ARCHITECTURE.md, "Streaming during the master's
// fsync", says why that is safe).
//
// The sqlrep VFS's file wrapper (wal_file.hpp) reports WAL frame writes and syncs here.
// While a WalSyncHook is alive on a thread, the first sync of a WAL file that follows a
// frame write on that thread runs the hook's function just before the fsync. With --sync normal a
// commit does not fsync the WAL, so the hook does not fire; the caller publishes after COMMIT
// instead.

#include <functional>

namespace sqlrep {

class WalSyncHook {
  public:
    // Arms the hook on this thread. `fn` must not throw nor touch SQLite.
    explicit WalSyncHook(std::function<void()> fn);
    ~WalSyncHook();
    WalSyncHook(const WalSyncHook&) = delete;
    WalSyncHook& operator=(const WalSyncHook&) = delete;

    bool fired() const { return fired_; }

    // Called by the VFS file wrapper on this thread: a WAL frame was written; a WAL file
    // is about to be synced (runs the armed hook once, before the sync of its commit).
    static void on_frame_write();
    static void before_sync();

  private:
    std::function<void()> fn_;
    bool wrote_frame_ = false;
    bool fired_ = false;
    WalSyncHook* previous_;
};

}  // namespace sqlrep
