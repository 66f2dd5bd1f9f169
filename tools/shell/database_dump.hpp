#pragma once
// .dump: SQL text that recreates a node's whole database, in the way sqlite3's .dump
// writes it: BEGIN TRANSACTION; every table's CREATE followed by its rows; the
// sqlite_sequence counters; then indexes, triggers and views in the order they were
// created; COMMIT. Piped into the shell against an empty node it reproduces the content
// exactly (GET /checksum agrees):
// - text, blobs (X'..') and NULL come from SQLite's own quote(); a real is its shortest
//   text when SQLite reads that back as the same double, else an exact expression
//   (mantissa * 2^exponent); -0.0 keeps its sign; an infinity is written 1e999;
// - a rowid table's rows keep their rowids (the column is named unless an INTEGER
//   PRIMARY KEY already is the rowid); generated columns are left to SQLite;
// - rows go in INSERTs of up to 50 rows or about 256 KiB of SQL (the node takes 1 MiB
//   of SQL per statement);
// - sqlrep's reserved _sqlrep_* tables, sqlite_stat* and the shadow tables of virtual
//   tables are left out (a virtual table's rows are inserted through it).
// The schema and every row are read in one request, so from one snapshot of the node
// (docs/API.md: several statements in one query); the node's --max-result-rows and
// --max-result-bytes bound it. Blocks on the connection.

#include <string>

#include "node_connection.hpp"

namespace sqlrep::shell {

// Throws sqlrep::Error when the node cannot be reached or refuses a read (with its error).
std::string dump_database(NodeConnection& node);

}  // namespace sqlrep::shell
