#pragma once
// The replication log, kept in reserved tables of the node's own SQLite file so that data
// and log commit (or vanish) in one transaction:
//   _sqlrep_log(idx, term, time_ms, hash, body, request_id)  one row per entry
//   _sqlrep_meta(key, value)                                    base position and state
//   _sqlrep_cdc(sink, position)        each change sink's position, replicated like data
// The "base" is the position just before the first row still in the log (0 for a log
// that was never trimmed or restored from a snapshot).
//
// Free functions over a Connection; they run on the thread that owns it, and the caller
// provides the transaction when several calls must be atomic.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/connection.hpp"
#include "shared/log_entry.hpp"

namespace sqlrep {

// Creates the reserved tables if they do not exist, and adds the request_id column to a
// log written before it existed (writer connections).
void ensure_log_schema(Connection& conn);

// The last entry in the log, or the base position when the log is empty.
LogPosition last_log_position(Connection& conn);

// The first index still held in the log (base + 1).
int64_t first_log_index(Connection& conn);

// The hash at `index` if the log (or its base) still knows it.
std::optional<Hash> log_hash_at(Connection& conn, int64_t index);

void append_log_entry(Connection& conn, const Entry& entry);

// Entries from `from` on, at most `max_count` and about `max_bytes` of body (at least
// one entry when any exists).
std::vector<Entry> read_log_entries(Connection& conn, int64_t from, std::size_t max_count,
                                    std::size_t max_bytes);

// The request_id of every entry after `after` that has one, with its index, in index order.
std::vector<std::pair<int64_t, std::string>> read_log_request_ids(Connection& conn, int64_t after);

// Drops the entries up to and including `index` (which must be in the log) and makes it
// the new base. Run inside the caller's write transaction.
void trim_log(Connection& conn, int64_t index);

// How far behind the last index a change sink's position may hold log trimming back
// (master/sink_runner.hpp): on the master, and on replicas so that one promoted can carry
// on from it.
inline constexpr int64_t kSinkMaxHold = 1'000'000;

// The lowest position in _sqlrep_cdc (every sink's), or nothing when no sink wrote one.
std::optional<int64_t> lowest_sink_position(Connection& conn);

std::optional<std::string> read_meta(Connection& conn, const std::string& key);
void write_meta(Connection& conn, const std::string& key, const std::string& value);

}  // namespace sqlrep
