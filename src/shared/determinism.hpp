#pragma once
// Deterministic replay. While an entry executes, the connection's clock is frozen at the
// entry's time_ms and random()/randomblob() draw from a PRNG seeded with the entry's seed,
// so every node computes the same values. The frozen state is thread-local: it applies to
// connections used on the thread that holds an EntryClock, i.e. the writer thread.
//
// The clock is a thin VFS ("sqlrep") that wraps the default VFS and overrides only
// xCurrentTime/xCurrentTimeInt64; see docs/ARCHITECTURE.md.

#include <cstdint>

struct sqlite3;

namespace sqlrep {

// Name of the VFS every sqlrep connection opens with. Registered on first use.
const char* deterministic_vfs_name();

// Installs random() and randomblob() overrides on a connection (writer connections).
void install_deterministic_functions(sqlite3* db);

// RAII: freezes this thread's SQLite clock at `time_ms` (Unix milliseconds) and seeds the
// PRNG with `seed` until destroyed. Not nestable.
class EntryClock {
public:
    EntryClock(int64_t time_ms, int64_t seed);
    ~EntryClock();
    EntryClock(const EntryClock&) = delete;
    EntryClock& operator=(const EntryClock&) = delete;
};

// The wall clock in Unix milliseconds (what the master stamps on a new entry).
int64_t unix_time_ms();

}  // namespace sqlrep
