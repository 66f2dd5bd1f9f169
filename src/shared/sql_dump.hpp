#pragma once
// An SQL dump of a database's user data, in the shape `sqlite3 .dump` writes and any
// SQLite loads: the tables with their rows, sqlite_sequence, then indexes, triggers and
// views, in one transaction. Unlike .dump it keeps every row's rowid (sqlrep's checksums
// include rowids, and a reloaded dump must check out equal), and it leaves out sqlrep's
// reserved `_sqlrep_` objects, SQLite's statistics tables and virtual tables' shadow
// tables. Values are written with SQLite's quote(), which is exact for reals.
//
// Blocks on SQLite I/O; writes through `sink` in pieces (never the whole dump in memory).

#include <functional>
#include <string_view>

struct sqlite3;

namespace sqlrep {

// Dumps the main database of `db` (a connection nobody else uses meanwhile; run it inside
// a read transaction for a consistent dump of a live file). Throws Error(internal) on a
// SQLite error.
void write_sql_dump(sqlite3* db, const std::function<void(std::string_view)>& sink);

}  // namespace sqlrep
