#pragma once
// rqlite's HTTP API, the request side: the query-string options of /db/execute, /db/query,
// /db/request, /readyz and /nodes, and the bodies of the first three (a JSON array whose
// items are SQL strings, [sql, positional params...] or [sql, {named params}]) turned into
// sqlrep statements. Pure functions: malformed input throws Error(bad_request).
// docs/API.md ("rqlite compatibility") says what each option means in sqlrep.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/client_request.hpp"
#include "shared/sql_executor.hpp"

namespace sqlrep {

// rqlite's read consistency levels; RqliteApi maps each onto a sqlrep read.
enum class RqliteLevel { none, weak, linearizable, strong, automatic };

struct RqliteOptions {
    bool transaction = false;  // all statements as one atomic unit
    bool timings = false;      // "time" per result and overall
    bool associative = false;  // rows as objects keyed by column
    bool pretty = false;       // indented JSON
    bool blob_array = false;   // blobs as arrays of bytes, not base64 text
    bool queue = false;        // /db/execute: answer at once, apply later in order
    bool wait = false;         // with queue: answer once this request has been applied
    bool noleader = false;     // /readyz: do not ask about the leader (the master)
    bool nodes_v2 = false;     // /nodes?ver=2: {"nodes": [...]} instead of an object by id
    RqliteLevel level = RqliteLevel::weak;  // rqlite's default
    std::optional<int64_t> freshness_ms;    // level=none: how stale a read may be
    std::vector<std::string> q;             // GET /db/query?q=SQL (each one, decoded)
};

// Reads the options of a request target ("/db/query?level=none&q=SELECT+1"). A flag is
// on when present without a value or with any value but "false" or "0". Throws
// Error(bad_request) for an unknown level or a freshness that is not a duration.
RqliteOptions parse_rqlite_options(std::string_view target);

// Reads a body: a non-empty JSON array of statements, within `limits`.
std::vector<SqlStatement> parse_rqlite_statements(const std::string& body,
                                                  const RequestLimits& limits);

// "%20" and "+" decoded; an invalid escape stays as it is.
std::string url_decode(std::string_view text);

}  // namespace sqlrep
