#include "shared/determinism.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include <sqlite3.h>

#include "shared/error.hpp"
#include "shared/wal_file.hpp"

namespace sqlrep {
namespace {

// Julian day number of the Unix epoch, in milliseconds (SQLite's xCurrentTimeInt64 unit).
constexpr sqlite3_int64 kUnixEpochJulianMs = 210866760000000LL;

struct FrozenState {
    bool active = false;
    int64_t time_ms = 0;
    uint64_t prng = 0;
};
thread_local FrozenState t_frozen;

sqlite3_vfs g_vfs;
sqlite3_vfs* g_base_vfs = nullptr;

int frozen_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
    if (t_frozen.active) {
        *out = kUnixEpochJulianMs + t_frozen.time_ms;
        return SQLITE_OK;
    }
    return g_base_vfs->xCurrentTimeInt64(g_base_vfs, out);
}

int frozen_current_time(sqlite3_vfs* vfs, double* out) {
    sqlite3_int64 ms = 0;
    int rc = frozen_current_time_int64(vfs, &ms);
    *out = static_cast<double>(ms) / 86400000.0;
    return rc;
}

// splitmix64: tiny, fast, and good enough; it only has to be identical on every node.
uint64_t next_random() {
    if (!t_frozen.active) {
        // Outside an entry (read connections never call this; the writer always has an
        // EntryClock) fall back to SQLite's own generator.
        uint64_t value = 0;
        sqlite3_randomness(sizeof value, &value);
        return value;
    }
    uint64_t z = (t_frozen.prng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sql_random(sqlite3_context* ctx, int, sqlite3_value**) {
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(next_random()));
}

void sql_randomblob(sqlite3_context* ctx, int, sqlite3_value** argv) {
    sqlite3_int64 n = sqlite3_value_int64(argv[0]);
    if (n < 1) n = 1;
    if (n > 1 << 20) {
        sqlite3_result_error(ctx, "randomblob size over 1 MiB", -1);
        return;
    }
    std::string bytes(static_cast<size_t>(n), '\0');
    for (size_t i = 0; i < bytes.size(); i += 8) {
        uint64_t r = next_random();
        for (size_t j = 0; j < 8 && i + j < bytes.size(); ++j)
            bytes[i + j] = static_cast<char>(r >> (8 * j));
    }
    sqlite3_result_blob(ctx, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

}  // namespace

const char* deterministic_vfs_name() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_base_vfs = sqlite3_vfs_find(nullptr);
        if (g_base_vfs == nullptr || g_base_vfs->iVersion < 2)
            throw Error(ErrorKind::internal, "no usable default SQLite VFS");
        g_vfs = *g_base_vfs;  // same methods, same pAppData: files are the base VFS's files
        g_vfs.zName = "sqlrep";
        g_vfs.pNext = nullptr;
        g_vfs.xCurrentTime = frozen_current_time;
        g_vfs.xCurrentTimeInt64 = frozen_current_time_int64;
        wrap_vfs_files(g_vfs, g_base_vfs);  // WAL writes gathered, the WAL sync hook
        if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK)
            throw Error(ErrorKind::internal, "cannot register the sqlrep VFS");
    });
    return "sqlrep";
}

void install_deterministic_functions(sqlite3* db) {
    int flags = SQLITE_UTF8;
    if (sqlite3_create_function(db, "random", 0, flags, nullptr, sql_random, nullptr, nullptr) !=
            SQLITE_OK ||
        sqlite3_create_function(db, "randomblob", 1, flags, nullptr, sql_randomblob, nullptr,
                                nullptr) != SQLITE_OK)
        throw Error(ErrorKind::internal, "cannot install deterministic random()");
}

EntryClock::EntryClock(int64_t time_ms, int64_t seed) {
    t_frozen.active = true;
    t_frozen.time_ms = time_ms;
    t_frozen.prng = static_cast<uint64_t>(seed);
}

EntryClock::~EntryClock() { t_frozen = FrozenState{}; }

int64_t unix_time_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace sqlrep
