#pragma once
// The files of the sqlrep VFS (sqlrep_vfs.cpp): a thin wrapper around the default VFS's
// files that forwards every method, with two jobs for a connection's WAL file:
//
// - It gathers WAL frame writes. SQLite writes each frame as two writes (a 24-byte header,
//   then the page), so a commit of N pages costs 2N syscalls, and on a virtual machine a
//   syscall is dear. The wrapper keeps contiguous frame writes in memory and passes them
//   on as one write (at most 96 KiB) at the commit's sync, or, for a commit that does not
//   sync (--sync normal), at the shared-memory barrier SQLite crosses before other
//   connections can see the commit. Any read, size, truncate or file-control call on the
//   WAL passes them on first. Nothing SQLite considers written is ever out of the file
//   when another connection, or a crash after COMMIT returned, could look for it.
// - It drives WalSyncHook (wal_sync_hook.hpp) at the commit's sync.

#include <cstdint>

struct sqlite3_vfs;

namespace sqlrep {

// Makes `vfs` (a copy of `base` being set up) open its files through the wrapper.
void wrap_vfs_files(sqlite3_vfs& vfs, sqlite3_vfs* base);

// How many writes have reached WAL files through the wrapper, process-wide (tests use it
// to see that a commit's frames went out together).
uint64_t wal_writes_passed_on();

}  // namespace sqlrep
