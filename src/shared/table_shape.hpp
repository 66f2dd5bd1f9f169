#pragma once
// What sqlrep needs to know about a table to address its rows by the values a row change
// carries: which columns are stored (and in what order the preupdate hook reports them),
// which of those a statement may write (not generated), how a row is found (its rowid,
// under a name no column hides, or its primary key in a WITHOUT ROWID table).
//
// Loaded from SQLite's own pragmas (table_list, table_xinfo), never from the SQL text.
// Runs on the thread that owns the connection.

#include <string>
#include <string_view>
#include <vector>

namespace sqlrep {

class Connection;

struct TableShape {
    std::string name;
    bool without_rowid = false;
    // "rowid", "oid" or "_rowid_", whichever no column is named; empty when all three are
    // column names (such a table's rows cannot be addressed; see effect_recorder).
    std::string rowid_name;
    std::vector<std::string> stored_columns;  // non-virtual columns, in declaration order
    std::vector<bool> writable;               // per stored column: not a generated column
    std::vector<std::size_t> key;             // WITHOUT ROWID: stored positions of the key
};

// Throws Error(diverged) when the table does not exist: callers ask about tables a row
// change names, which the master had.
TableShape load_table_shape(Connection& conn, std::string_view table);

// "name" with its double quotes doubled: an identifier SQLite reads back exactly.
std::string quote_identifier(std::string_view name);

}  // namespace sqlrep
