#include "shared/wal_sync_hook.hpp"

#include <exception>

#include <sqlite3.h>

namespace sqlrep {

namespace {
thread_local WalSyncHook* t_hook = nullptr;
sqlite3_vfs* g_base = nullptr;
}  // namespace

struct WalSyncHookAccess {
    static void on_frame_write() {
        if (t_hook) t_hook->wrote_frame_ = true;
    }
    // Runs the armed hook once, before the sync of the commit it belongs to.
    static void before_sync() {
        WalSyncHook* hook = t_hook;
        if (hook == nullptr || hook->fired_ || !hook->wrote_frame_) return;
        hook->fired_ = true;
        try {
            hook->fn_();
        } catch (const std::exception&) {
            // Nothing may unwind through SQLite's C frames; the caller sees fired() false
            // and does the work after COMMIT instead.
            hook->fired_ = false;
        }
    }
};

WalSyncHook::WalSyncHook(std::function<void()> fn) : fn_(std::move(fn)), previous_(t_hook) {
    t_hook = this;
}

WalSyncHook::~WalSyncHook() { t_hook = previous_; }

namespace {

// Our file: SQLite allocates szOsFile bytes; the base VFS's file lives right after ours.
struct WrappedFile {
    sqlite3_file base;  // pMethods points at one of our method tables
    sqlite3_file* real;
    bool wal;
};

constexpr int kWalHeaderBytes = 32;  // frames start after the WAL header

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<WrappedFile*>(f)->real; }

int x_close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
    return real(f)->pMethods->xRead(real(f), p, n, off);
}
int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
    if (reinterpret_cast<WrappedFile*>(f)->wal && off >= kWalHeaderBytes)
        WalSyncHookAccess::on_frame_write();
    return real(f)->pMethods->xWrite(real(f), p, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
    return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
    if (reinterpret_cast<WrappedFile*>(f)->wal) WalSyncHookAccess::before_sync();
    return real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
    return real(f)->pMethods->xFileSize(real(f), size);
}
int x_lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int x_unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
    return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device_characteristics(sqlite3_file* f) {
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
    return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int remove) {
    return real(f)->pMethods->xShmUnmap(real(f), remove);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
    return real(f)->pMethods->xFetch(real(f), off, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
    return real(f)->pMethods->xUnfetch(real(f), off, p);
}

// One table per iVersion the base file may have, so SQLite never calls a method the
// base file lacks.
sqlite3_io_methods make_methods(int version) {
    sqlite3_io_methods m{};
    m.iVersion = version;
    m.xClose = x_close;
    m.xRead = x_read;
    m.xWrite = x_write;
    m.xTruncate = x_truncate;
    m.xSync = x_sync;
    m.xFileSize = x_file_size;
    m.xLock = x_lock;
    m.xUnlock = x_unlock;
    m.xCheckReservedLock = x_check_reserved_lock;
    m.xFileControl = x_file_control;
    m.xSectorSize = x_sector_size;
    m.xDeviceCharacteristics = x_device_characteristics;
    if (version >= 2) {
        m.xShmMap = x_shm_map;
        m.xShmLock = x_shm_lock;
        m.xShmBarrier = x_shm_barrier;
        m.xShmUnmap = x_shm_unmap;
    }
    if (version >= 3) {
        m.xFetch = x_fetch;
        m.xUnfetch = x_unfetch;
    }
    return m;
}

const sqlite3_io_methods g_methods[3] = {make_methods(1), make_methods(2), make_methods(3)};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* wrapped = reinterpret_cast<WrappedFile*>(file);
    wrapped->real = reinterpret_cast<sqlite3_file*>(wrapped + 1);
    wrapped->wal = (flags & SQLITE_OPEN_WAL) != 0;
    wrapped->real->pMethods = nullptr;
    int rc = g_base->xOpen(g_base, name, wrapped->real, flags, out_flags);
    const sqlite3_io_methods* methods = wrapped->real->pMethods;
    if (methods == nullptr) {
        wrapped->base.pMethods = nullptr;  // nothing to close
    } else {
        int version = methods->iVersion < 1 ? 1 : methods->iVersion > 3 ? 3 : methods->iVersion;
        wrapped->base.pMethods = &g_methods[version - 1];
    }
    return rc;
}

}  // namespace

void wrap_vfs_files(sqlite3_vfs& vfs, sqlite3_vfs* base) {
    g_base = base;
    // Keep the base file suitably aligned right after our header.
    static_assert(sizeof(WrappedFile) % 8 == 0, "the base file must stay 8-byte aligned");
    vfs.szOsFile = static_cast<int>(sizeof(WrappedFile)) + base->szOsFile;
    vfs.xOpen = x_open;
}

}  // namespace sqlrep
