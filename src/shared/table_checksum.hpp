#pragma once
// Per-table content checksums, so two nodes can be compared without moving their rows:
// XXH3-128 over every row of every table that replication keeps identical, read in one
// read transaction together with the applied index they belong to.
//
// What a checksum covers (docs/API.md, GET /checksum):
// - every table of the main schema, WITHOUT ROWID tables and the shadow tables of virtual
//   tables included, and sqlite_sequence when it exists (AUTOINCREMENT's counters must
//   match too); never sqlrep's own _sqlrep_* tables, sqlite_stat* (ANALYZE's estimates),
//   sqlite_schema, or virtual tables themselves (their rows live in their shadow tables);
// - for a rowid table (sqlite_sequence too), each row's rowid and then every column, rows
//   in rowid order;
// - for a WITHOUT ROWID table, every column, rows in primary key order.

#include <cstdint>
#include <string>
#include <vector>

#include "shared/connection.hpp"

namespace sqlrep {

struct TableChecksum {
    std::string name;
    int64_t rows = 0;
    std::string checksum;  // 32 hex digits
};

struct DatabaseChecksum {
    int64_t index = 0;                  // the applied index the checksums were taken at
    std::vector<TableChecksum> tables;  // by name
};

// Runs on the thread that owns `conn` (a read connection). Throws Error(internal) when a
// table cannot be read.
DatabaseChecksum checksum_database(Connection& conn);

}  // namespace sqlrep
