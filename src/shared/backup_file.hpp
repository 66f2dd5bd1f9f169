#pragma once
// A backup of a node's database as a file: a consistent copy of its user data at the
// node's applied index, as a SQLite database or an SQL dump (sql_dump.hpp), optionally
// gzip- or zstd-compressed (compression.hpp). GET /backup streams it (backup_routes.hpp).
//
// The copy is made with SQLite's online backup API from a read connection in one step,
// so it is one read transaction of the live file: writers go on meanwhile (WAL), and the
// copy's log says exactly which index and hash it holds. The reserved `_sqlrep_` tables
// are then dropped (their pages zeroed and left free; VACUUM could renumber rowids): a
// backup holds user data only, so it can be restored (POST /restore refuses `_sqlrep_`
// tables) or opened with any SQLite tool.
//
// Blocks on file and SQLite I/O: call it on a pool thread. The intermediate files are
// removed; the result is the caller's to remove.

#include <cstdint>
#include <string>

#include "shared/compression.hpp"
#include "shared/connection.hpp"
#include "shared/log_entry.hpp"

struct sqlite3;

namespace sqlrep {

enum class BackupFormat { sqlite, sql };

struct BackupFile {
    std::string path;
    LogPosition position;  // the last entry the backup holds
    uint64_t bytes = 0;    // of the file at `path` (compressed, if it is)
};

// Backs up the database behind `source` into a new temporary file next to it
// (temp_files.hpp).
BackupFile create_backup(Connection& source, BackupFormat format, Codec codec);

// Leaves only the user's data in the database behind `db` (a copy no node uses): drops
// every _sqlrep_ table. No VACUUM, which may renumber the rowids of tables without an
// INTEGER PRIMARY KEY: their pages stay as free pages, zeroed (secure_delete), so no byte
// of history the user data no longer holds leaves with the file.
void drop_reserved_tables(sqlite3* db);

// The media type of a backup file ("application/vnd.sqlite3", "application/sql",
// "application/gzip", "application/zstd") and a file name for it.
const char* backup_content_type(BackupFormat format, Codec codec);
std::string backup_file_name(BackupFormat format, Codec codec, int64_t index);

}  // namespace sqlrep
