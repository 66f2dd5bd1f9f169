#pragma once
// The restore entry: how the master replaces its whole database (POST /restore, master
// --restore) as one entry of the log. The checked upload (database_upload.hpp) becomes a
// complete node database: the upload's user tables, this node's _sqlrep_meta, and a log
// whose base is the master's last position and whose one entry is the restore entry (an
// `R` effect, effects.hpp). Installed into the writer with the backup API, it replaces the
// database in one transaction: the log chains on, and a replica that meets the entry
// fetches a snapshot (docs/PROTOCOL.md, "Restore entries").
//
// Writer thread (blocks on file and SQLite I/O).

#include <string>

#include "shared/connection.hpp"
#include "shared/database_upload.hpp"
#include "shared/log_entry.hpp"

namespace sqlrep::master {

// What the restore entry's body says of the restored data (for people: logs, tools).
std::string restore_digest(const CheckedDatabase& db);

// The entry that follows `last` and replaces the database with data described by `digest`.
Entry make_restore_entry(const LogPosition& last, int64_t term, const std::string& digest);

// Makes the checked file at `path` a whole node database: the log tables, `current`'s
// meta, base `base` (the position before `entry`) and `entry` as its only log row.
void prepare_restored_database(const std::string& path, Connection& current,
                               const LogPosition& base, const Entry& entry);

// Replaces the database behind `writer` with the prepared file, atomically.
void install_restored_database(Connection& writer, const std::string& path);

}  // namespace sqlrep::master
