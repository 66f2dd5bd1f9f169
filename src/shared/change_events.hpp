#pragma once
// The change feed's event format: one log entry (log_entry.hpp) turned into the row changes
// it made, each as one JSON object that outside consumers read (GET /changes, the webhook
// and NATS sinks). docs/API.md ("Change feed") is the public description of every field;
// change the names only together with it.
//
// A row change event:
//   {"index": 12, "position": 0, "term": 1, "time_ms": 1764732000123,
//    "time": "2025-12-03T03:20:00.123Z", "op": "update", "table": "users",
//    "rowid": 5, "key": {"id": 5}, "old": {"id": 5, "name": "a"}, "new": {...}}
// "op" is insert, update or delete; "old" is null for an insert, "new" null for a delete.
// "rowid" is absent in a WITHOUT ROWID table; an update that moved the row to another
// rowid also carries "old_rowid". "key" (the declared PRIMARY KEY's columns by name) is
// present when the table has one. A schema change is {"op": "schema", "sql": "..."} with
// the same index, position and times. sqlite_sequence bookkeeping makes no event.
// (index, position) names one change for good: position counts the entry's events from 0.
//
// Values are typed as in query results (docs/API.md): integers, reals (the shortest text
// that reads back as the same double; non-finite as null), strings, null, and a blob as
// {"blob": "<base64>"}.
//
// Column names come from the schema the connection sees now, not as it was at the entry:
// a column added since (ALTER TABLE ADD COLUMN appends) is simply absent from an older
// change; a value whose column no longer exists (dropped, or the whole table) is named by
// its storage position, "$0", "$1", ... A consumer near the head of the log sees the
// schema as it was.
//
// ChangeEvents caches table shapes; it runs on the thread that owns the connection it is
// given (a read connection for the feed, any connection for a sink) and is not
// thread-safe. Build events inside the read transaction that read the entries so the
// schema and the entries come from one snapshot.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "shared/effects.hpp"
#include "shared/json.hpp"
#include "shared/log_entry.hpp"

namespace sqlrep {

class Connection;

// What the feed needs to name a table's values: the stored columns in storage order (as
// the effects carry them) and the positions of the declared primary key.
struct ChangeTable {
    std::string name;
    bool exists = false;
    bool without_rowid = false;
    std::string rowid_name;  // "rowid", "oid" or "_rowid_": whichever no column hides
    std::vector<std::string> columns;
    std::vector<std::size_t> key;  // storage positions, in key order; empty for none
};

// Loads `table`'s shape as `conn` sees it now (exists = false when there is none).
ChangeTable load_change_table(Connection& conn, std::string_view table);

// A SQLite value as the API shows it.
json::value change_value_json(const Value& value);

// "2026-12-03T03:20:00.123Z" for Unix milliseconds.
std::string iso8601_utc(int64_t time_ms);

class ChangeEvents {
  public:
    // Every event of `entry`, in order. Throws Error(bad_request) for a malformed body.
    std::vector<json::object> of_entry(Connection& conn, const Entry& entry);

    // The shape of `table`, cached until forget().
    const ChangeTable& table(Connection& conn, std::string_view name);

    // Drops the cached shapes (of_entry does after a schema change).
    void forget() { tables_.clear(); }

  private:
    std::map<std::string, ChangeTable, std::less<>> tables_;  // by name as effects carry it
};

// The values of a row as {"column": value} for `table` (positional names past its columns).
json::object row_json(const ChangeTable& table, const std::vector<Value>& values);

}  // namespace sqlrep
