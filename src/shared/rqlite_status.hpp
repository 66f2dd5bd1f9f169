#pragma once
// rqlite's shapes of a node's state: the sections of rqlite's GET /status that its clients
// read (build, http, node, runtime, store), GET /readyz and GET /nodes, all made from
// sqlrep's own /status body. Pure functions; docs/API.md says what each field means here.

#include <chrono>

#include "shared/http_types.hpp"
#include "shared/node_config.hpp"

namespace sqlrep {

// `status` with rqlite's sections added beside sqlrep's fields. `started`: when the node
// began serving.
json::object with_rqlite_status(json::object status, const NodeConfig& config,
                                std::chrono::system_clock::time_point started);

// GET /readyz: 200 with rqlite's check lines when `not_ready` is empty, else 503 naming
// why. `noleader` skips the check that the master is reachable.
HttpResponse rqlite_readyz(const std::string& not_ready, bool noleader);

// GET /nodes: every node this one knows (the master, and the master's replicas or this
// replica), keyed by id, or with `v2` as {"nodes": [...]}.
json::object rqlite_nodes(const NodeConfig& config, const json::object& status, bool v2);

}  // namespace sqlrep
