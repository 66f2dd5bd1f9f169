#pragma once
// .status and .nodes: what a node says about itself (GET /status) and the cluster table
// built from the master's /status (its replicas, their lag and stream) and every node's
// own /status and /ready. Blocks on HTTP requests; shell thread only.

#include "node_connection.hpp"
#include "result_printer.hpp"

namespace sqlrep::shell {

// The connected node's /status, its scalar fields: a field/value table in table mode, one
// record with a column per field in the others. Throws sqlrep::Error when the node cannot
// be reached or refuses.
void print_status(NodeConnection& node, ResultPrinter& printer);

// One row per node: id, url, role, term, applied_index, lag (entries behind the master, as
// the master counts them), state, connected (the replica's stream to the master is open),
// ready (GET /ready answers 200). Starts from the connected node and asks the master it
// names; a node that does not answer shows state "unreachable". Throws sqlrep::Error when
// the connected node cannot be reached.
void print_cluster(NodeConnection& node, ResultPrinter& printer);

}  // namespace sqlrep::shell
