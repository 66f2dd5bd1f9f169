#pragma once
// rqlite's HTTP API, the response side: sqlrep's per-statement results reshaped into
// rqlite's ({"columns","types","values"} or, associative, {"types":{..},"rows":[{..}]} for
// reads; {"last_insert_id","rows_affected"} for writes; {"error"} for a failed statement),
// and whole bodies serialized plainly or indented (pretty). Pure functions.

#include <optional>
#include <string>

#include "shared/http_types.hpp"
#include "shared/rqlite_request.hpp"

namespace sqlrep {

// One rqlite result from one sqlrep statement result (an object of sql_executor's
// results: columns/types/rows, or rows_affected/last_insert_id). `seconds`, when set, is
// its "time". `types` are SQLite's declared types in lower case; a column without one
// (an expression) takes the type of its first non-null value, as rqlite does.
json::object rqlite_result(const json::object& result, const RqliteOptions& options,
                           std::optional<double> seconds);

// {"error": message}: a statement that failed, inside "results".
json::object rqlite_error_result(const std::string& message);

// A JSON answer, indented with four spaces when `pretty`.
HttpResponse rqlite_json(unsigned status, const json::value& body, bool pretty);

// A failure of the whole request, as rqlite writes it: the message as plain text.
HttpResponse rqlite_text(unsigned status, const std::string& text);

// The JSON text of `value`, indented when `pretty` (rqlite's json.MarshalIndent layout).
std::string rqlite_serialize(const json::value& value, bool pretty);

}  // namespace sqlrep
