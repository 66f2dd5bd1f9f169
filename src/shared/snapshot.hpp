#pragma once
// Snapshots: a consistent copy of a node's whole database (data, log and meta), made with
// SQLite's online backup API, for replicas that are new, wiped, diverged, or behind the
// oldest entry the master still keeps. The copy is taken from a read connection, so
// writers go on meanwhile (WAL), and installed on a replica through its writer connection
// in one backup, so readers there see either the old database or the new one.
//
// All functions block on file and SQLite I/O: call them on a pool or writer thread.

#include <cstdint>
#include <string>

#include <xxhash.h>

#include "shared/connection.hpp"
#include "shared/replication_log.hpp"

namespace sqlrep {

struct SnapshotFile {
    std::string path;
    LogPosition position;  // the last entry the snapshot contains
    uint64_t bytes = 0;
    std::string checksum;  // XXH3-128 of the file, hex
};

// Copies the database behind `source` into a new file at `path`, with
// VACUUM INTO: one read transaction of `source` (a consistent copy, writers go on in WAL
// mode), only the pages in use (a log trimmed of big entries leaves gigabytes of free
// pages behind), in rollback-journal mode (one self-contained file), not synced. Rowids
// are kept, as they must be (checksums and effects address rows by rowid): SQLite's
// VACUUM INTO copies every table with its rowids, where a plain VACUUM renumbers the rows
// of a table with neither an INTEGER PRIMARY KEY nor an index.
void copy_database(Connection& source, const std::string& path);

// Copies the database behind `source` (copy_database) into a new temporary file next to
// it (temp_files.hpp).
SnapshotFile create_snapshot(Connection& source);

// XXH3-128 of a file's bytes, hex.
std::string file_checksum(const std::string& path);

// The same checksum, of bytes given piece by piece (a file as it arrives).
class FileChecksum {
  public:
    FileChecksum();
    ~FileChecksum();
    FileChecksum(const FileChecksum&) = delete;
    FileChecksum& operator=(const FileChecksum&) = delete;

    void update(const void* data, std::size_t size);
    std::string hex() const;  // of everything so far

  private:
    XXH3_state_t* state_;
};

// Checks a received snapshot (SQLite's quick_check, and that its log chains from its
// base) and returns its position. Throws Error(bad_request) if it is not sound.
LogPosition verify_snapshot(const std::string& path);

// Replaces the database behind `writer` with the snapshot at `path`, atomically.
void install_snapshot(Connection& writer, const std::string& path);

}  // namespace sqlrep
