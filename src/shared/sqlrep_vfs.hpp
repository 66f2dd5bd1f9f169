#pragma once
// The "sqlrep" VFS every sqlrep connection opens with: SQLite's default VFS with its WAL
// files wrapped (wal_file.hpp: WAL writes gathered, the WAL sync hook). Registered on
// first use; any thread.

namespace sqlrep {

const char* sqlrep_vfs_name();

}  // namespace sqlrep
