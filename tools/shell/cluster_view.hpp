#pragma once
// .status and .nodes: what a node says about itself (GET /status) and the cluster table it
// sees (GET /_cluster/overview). Blocks on HTTP requests; shell thread only.

#include <ostream>

#include "node_connection.hpp"
#include "result_printer.hpp"

namespace sqlrep::shell {

// The connected node's /status, its scalar fields: a field/value table in table mode, one
// record with a column per field in the others. Throws sqlrep::Error when the node cannot
// be reached or refuses.
void print_status(NodeConnection& node, ResultPrinter& printer);

// One row per node: id, url, role, term, applied_index, lag (entries behind the master),
// state ("unreachable" for a node that does not answer), connected (its stream is open),
// ready (GET /ready answers 200), then show_all's verdict on `out`. All of it from the
// connected node's GET /_cluster/overview: that node finds the others. Throws
// sqlrep::Error when the connected node cannot be reached or refuses.
void print_cluster(NodeConnection& node, ResultPrinter& printer, std::ostream& out);

}  // namespace sqlrep::shell
