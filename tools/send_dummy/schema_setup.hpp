#pragma once
// Creating a table from any node: DDL is privileged and a replica refuses it (403), so it
// is sent to the master that the node's GET /status names, and the node is then given time
// to apply it before rows are written through it. All calls block on the given client.

#include <chrono>
#include <cstdint>
#include <string>

#include "shared/http_client.hpp"

namespace sqlrep::send_dummy {

// The origin DDL should go to: the "master" of `node`'s /status when the node is a replica,
// otherwise the node's own origin (also when /status cannot say). Throws sqlrep::Error when
// the node cannot be reached.
std::string master_origin(HttpClient& node, std::chrono::milliseconds timeout);

// Blocks until `node` has applied `index` (a query with min_index, bounded by the node and by
// `timeout`). Throws std::runtime_error when it has not.
void wait_for_index(HttpClient& node, int64_t index, std::chrono::milliseconds timeout);

// Runs `ddl` on the master of `node`'s cluster, then waits until `node` has applied it.
// Throws std::runtime_error or sqlrep::Error with a message for the user on failure.
void create_table(HttpClient& node, const std::string& ddl, const std::string& ack,
                  std::chrono::milliseconds timeout);

}  // namespace sqlrep::send_dummy
