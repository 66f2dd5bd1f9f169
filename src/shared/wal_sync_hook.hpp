#pragma once
// The moment a commit has been written to the WAL and is about to be fsynced. The master
// streams a write group to its replicas right then, so their apply-and-fsync overlaps its
// own fsync instead of following it (docs/ARCHITECTURE.md, "Streaming during the master's
// fsync", says why that is safe).
//
// The sqlrep VFS (determinism.cpp) passes every file through wrap_vfs_files(); for WAL
// files the wrapper notices frame writes and syncs. While a WalSyncHook is alive on a
// thread, the first sync of a WAL file that follows a frame write on that thread runs the
// hook's function just before the fsync. With --sync normal a commit does not fsync the
// WAL, so the hook does not fire; the caller publishes after COMMIT instead.

#include <functional>

struct sqlite3_vfs;

namespace sqlrep {

class WalSyncHook {
public:
    // Arms the hook on this thread. `fn` must not throw nor touch SQLite.
    explicit WalSyncHook(std::function<void()> fn);
    ~WalSyncHook();
    WalSyncHook(const WalSyncHook&) = delete;
    WalSyncHook& operator=(const WalSyncHook&) = delete;

    bool fired() const { return fired_; }

private:
    friend struct WalSyncHookAccess;
    std::function<void()> fn_;
    bool wrote_frame_ = false;
    bool fired_ = false;
    WalSyncHook* previous_;
};

// Makes `vfs` (a copy of `base` being set up) open its files through a thin wrapper that
// forwards every method to `base`'s file and drives WalSyncHook for WAL files.
void wrap_vfs_files(sqlite3_vfs& vfs, sqlite3_vfs* base);

}  // namespace sqlrep
