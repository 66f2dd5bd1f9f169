#pragma once
// The body of POST /: parsed and validated into a ClientRequest before anything runs.
// Pure functions; every malformed input becomes Error(bad_request) with a clear message.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/http_types.hpp"
#include "shared/sql_executor.hpp"

namespace sqlrep {

enum class AckMode { master, quorum, all };
enum class ReadLevel { local, strong };

struct ClientRequest {
    enum class Command { exec, query };
    Command command = Command::query;
    std::vector<SqlStatement> statements;  // from "query"+"params" or from "batch"
    std::optional<AckMode> ack;            // exec: unset means the node's default
    // exec: the client's id for the write ("" for none; valid_request_id otherwise). The
    // cluster answers a repeat of a recent id with the first outcome (docs/API.md).
    std::string request_id;
    int64_t min_index = 0;               // query: wait until applied
    ReadLevel level = ReadLevel::local;  // query
    // The body sets "replicated" or "forwarded": flags only node-to-node traffic may
    // carry. The router refuses them without the cluster token.
    bool claims_replication = false;
    // Set by the router from the client's role: false for a token without admin.
    bool may_change_schema = true;
};

struct RequestLimits {
    std::size_t max_sql_bytes = 1 << 20;  // per statement text
    std::size_t max_batch = 10000;        // statements in a batch
    unsigned max_json_depth = 32;
};

ClientRequest parse_client_request(const std::string& body, const RequestLimits& limits = {});

// What a failed exec did, in its error response's "outcome" (docs/API.md).
enum class ExecOutcome {
    not_applied,  // it never reached the log: sending it again is safe
    committed,    // committed on the master at "index", not acknowledged as asked
    unknown,      // it may or may not be applied (retry it with the same request_id)
};
const char* exec_outcome_name(ExecOutcome outcome);
std::optional<ExecOutcome> parse_exec_outcome(std::string_view name);

// An exec's error response: error_response(error) with "outcome" (and "index" when it is
// above 0) added to its body.
HttpResponse exec_error_response(const Error& error, ExecOutcome outcome, int64_t index = 0);
HttpResponse exec_error_response(ErrorKind kind, const std::string& message, ExecOutcome outcome,
                                 int64_t index = 0);
// Adds "outcome" (and "index" above 0) to a JSON error response built elsewhere; one whose
// body is not a JSON object is returned as it is.
HttpResponse with_exec_outcome(HttpResponse res, ExecOutcome outcome, int64_t index = 0);

std::optional<AckMode> parse_ack_mode(const std::string& text);
const char* ack_mode_name(AckMode mode);

}  // namespace sqlrep
