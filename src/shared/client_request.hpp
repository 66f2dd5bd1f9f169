#pragma once
// The body of POST /: parsed and validated into a ClientRequest before anything runs.
// Pure functions; every malformed input becomes Error(bad_request) with a clear message.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shared/sql_executor.hpp"

namespace sqlrep {

enum class AckMode { master, quorum, all };
enum class ReadLevel { local, strong };

struct ClientRequest {
    enum class Command { exec, query };
    Command command = Command::query;
    std::vector<SqlStatement> statements;  // from "query"+"params" or from "batch"
    std::optional<AckMode> ack;            // exec: unset means the node's default
    int64_t min_index = 0;                 // query: wait until applied
    ReadLevel level = ReadLevel::local;    // query
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

std::optional<AckMode> parse_ack_mode(const std::string& text);
const char* ack_mode_name(AckMode mode);

}  // namespace sqlrep
