#pragma once
// The change feed's snapshot (GET /changes?snapshot=true) and its SSE framing: every
// current row of the chosen tables, as of one read transaction, written out as the events
// docs/API.md ("snapshot=true") describes, so that a consumer can start from nothing.
//
// Free functions; write_change_snapshot runs on the thread that owns the read connection
// (a ReadPool thread) and may take long: it reads whole tables.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "shared/change_feed_request.hpp"

namespace sqlrep {

class Connection;

// One Server-Sent Event: "data: <json>\n", then "id: <id>\n" when given, then a blank line.
std::string sse_event(const std::string& json, std::optional<int64_t> id);

// Writes the snapshot's events to `out`: SSE text when `sse`, else one JSON per line.
// {"op":"snapshot"}, a "schema" event per table, a "row" event per row, "snapshot_end"
// (with SSE id = its index). Returns the index the snapshot is at. Throws on a read error.
int64_t write_change_snapshot(Connection& conn, const ChangeFeedRequest& request, bool sse,
                              std::ostream& out);

}  // namespace sqlrep
