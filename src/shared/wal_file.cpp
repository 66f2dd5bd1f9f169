#include "shared/wal_file.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include <sqlite3.h>

#include "shared/wal_sync_hook.hpp"

namespace sqlrep {

namespace {

// Our file: SQLite allocates szOsFile bytes; the base VFS's file lives right after ours.
struct WrappedFile {
    sqlite3_file base;  // pMethods points at one of our method tables
    sqlite3_file* real;
    bool is_wal;
    sqlite3_filename name;
    WrappedFile* wal;  // a database file: the WAL its connection has open, if any
    WrappedFile* db;   // a WAL file: the database file of the same connection
    // A WAL file linked to its database: frame writes not yet passed to the real file.
    struct Pending {
        sqlite3_int64 start = 0;
        std::string bytes;
    } * pending;
};

constexpr int kWalHeaderBytes = 32;  // frames start after the WAL header
// One write passes on at most this much: the unix VFS writes at most 128 KiB per call
// (it masks the length to 17 bits) and reports a longer write as a full disk.
constexpr std::size_t kMaxPendingBytes = 96 * 1024;

// Database files by the filename pointer SQLite gave their xOpen: a connection's WAL
// file name points into the same allocation, which is how a WAL finds its database.
std::mutex g_files_mutex;
std::unordered_map<const char*, WrappedFile*> g_db_files;

std::atomic<uint64_t> g_wal_writes{0};

WrappedFile* wrapped(sqlite3_file* f) { return reinterpret_cast<WrappedFile*>(f); }
sqlite3_file* real(sqlite3_file* f) { return wrapped(f)->real; }

// One write to the real file, counted when it goes to a WAL.
int write_through(WrappedFile* w, const void* p, int n, sqlite3_int64 off) {
    if (w->is_wal) g_wal_writes.fetch_add(1, std::memory_order_relaxed);
    return w->real->pMethods->xWrite(w->real, p, n, off);
}

// Passes the pending frame bytes to the real file in one write.
int flush(WrappedFile* w) {
    if (w->pending == nullptr || w->pending->bytes.empty()) return SQLITE_OK;
    auto& p = *w->pending;
    int rc = write_through(w, p.bytes.data(), static_cast<int>(p.bytes.size()), p.start);
    p.bytes.clear();
    return rc;
}

int x_close(sqlite3_file* f) {
    WrappedFile* w = wrapped(f);
    int flushed = flush(w);
    {
        std::lock_guard lock(g_files_mutex);
        if (w->db) w->db->wal = nullptr;
        if (w->wal) w->wal->db = nullptr;
        if (!w->is_wal && w->name) {
            auto it = g_db_files.find(w->name);
            if (it != g_db_files.end() && it->second == w) g_db_files.erase(it);
        }
    }
    delete w->pending;
    int rc = w->real->pMethods->xClose(w->real);
    return flushed != SQLITE_OK ? flushed : rc;
}
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
    if (int rc = flush(wrapped(f)); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xRead(real(f), p, n, off);
}
// A write that continues the pending bytes joins them; any other passes them on first.
int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
    WrappedFile* w = wrapped(f);
    if (w->is_wal && off >= kWalHeaderBytes) WalSyncHook::on_frame_write();
    if (w->pending == nullptr || static_cast<std::size_t>(n) > kMaxPendingBytes) {
        if (int rc = flush(w); rc != SQLITE_OK) return rc;
        return write_through(w, p, n, off);
    }
    auto& pending = *w->pending;
    bool continues = off == pending.start + static_cast<sqlite3_int64>(pending.bytes.size());
    if (!pending.bytes.empty() &&
        (!continues || pending.bytes.size() + static_cast<std::size_t>(n) > kMaxPendingBytes)) {
        if (int rc = flush(w); rc != SQLITE_OK) return rc;
    }
    try {
        if (pending.bytes.empty()) pending.start = off;
        pending.bytes.append(static_cast<const char*>(p), static_cast<std::size_t>(n));
    } catch (const std::bad_alloc&) {
        return SQLITE_IOERR_NOMEM;
    }
    return SQLITE_OK;
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (int rc = flush(wrapped(f)); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
    if (int rc = flush(wrapped(f)); rc != SQLITE_OK) return rc;
    if (wrapped(f)->is_wal) WalSyncHook::before_sync();
    return real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
    if (int rc = flush(wrapped(f)); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xFileSize(real(f), size);
}
int x_lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int x_unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
    if (int rc = flush(wrapped(f)); rc != SQLITE_OK) return rc;
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
// SQLite publishes a commit to other connections by writing the WAL index header around
// this barrier (on the database file). Frames still pending in the connection's WAL must
// be in the file before that: a commit with no sync (--sync normal) gets here unflushed.
// A failed write here cannot be reported to SQLite; the commit would be visible without
// its frames, so the process stops before anyone is told it committed.
void x_shm_barrier(sqlite3_file* f) {
    if (WrappedFile* wal = wrapped(f)->wal; wal != nullptr && flush(wal) != SQLITE_OK) {
        std::fputs("sqlrep: cannot write the WAL; stopping before a commit is lost\n", stderr);
        std::abort();
    }
    real(f)->pMethods->xShmBarrier(real(f));
}
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

sqlite3_vfs* g_base = nullptr;

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* w = reinterpret_cast<WrappedFile*>(file);
    w->real = reinterpret_cast<sqlite3_file*>(w + 1);
    w->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    w->name = name;
    w->wal = nullptr;
    w->db = nullptr;
    w->pending = nullptr;
    w->real->pMethods = nullptr;
    int rc = g_base->xOpen(g_base, name, w->real, flags, out_flags);
    const sqlite3_io_methods* methods = w->real->pMethods;
    if (methods == nullptr) {
        w->base.pMethods = nullptr;  // nothing to close
        return rc;
    }
    int version = methods->iVersion < 1 ? 1 : methods->iVersion > 3 ? 3 : methods->iVersion;
    w->base.pMethods = &g_methods[version - 1];
    if (rc != SQLITE_OK || name == nullptr) return rc;
    std::lock_guard lock(g_files_mutex);
    if (flags & SQLITE_OPEN_MAIN_DB) {
        g_db_files[name] = w;
    } else if (w->is_wal) {
        // Gather frame writes only when the barrier of the WAL's own database can flush
        // them; otherwise pass them straight on.
        auto it = g_db_files.find(sqlite3_filename_database(name));
        if (it != g_db_files.end() && it->second->wal == nullptr) {
            w->pending = new (std::nothrow) WrappedFile::Pending;
            if (w->pending) {
                w->db = it->second;
                it->second->wal = w;
            }
        }
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

uint64_t wal_writes_passed_on() { return g_wal_writes.load(std::memory_order_relaxed); }

}  // namespace sqlrep
