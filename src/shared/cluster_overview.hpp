#pragma once
// The cluster as one node sees it, for the console's cluster panel (GET /_cluster/overview,
// docs/API.md): every node it can find, each with its /status figures, whether it is ready,
// and its per-table checksums, and show_all's verdict over them (cluster_compare), so a
// browser needs to reach only the node that served it.
//
// Nodes are found from where the caller starts (this node, its --peers, its master) and
// from what they say: a master's /status lists its replicas' URLs. Checksums are read again
// (bounded) until every node answers at the reference's index, as show_all waits, so lag
// is not reported as divergence.
//
// cluster_overview() blocks (HTTP requests to every node, each bounded by `timeout`, and
// at most `catch_up` of waiting): call it on a thread of its own, never an I/O thread.

#include <chrono>
#include <string>
#include <vector>

#include "shared/http_client.hpp"
#include "shared/net.hpp"

namespace sqlrep {

struct OverviewSources {
    // Origins to start from ("http://host:port"); duplicates and empty ones are skipped.
    std::vector<std::string> urls;
    // TLS towards the nodes (and a client certificate for mutual TLS).
    ClientOptions client;
    // Sent as X-Sqlrep-Token: the other nodes answer /status and /checksum to their peers.
    std::string cluster_token;
    // The cluster's size (1 + num_replicas): fewer nodes found makes an in-sync verdict
    // "incomplete". 0: not checked.
    int expected_nodes = 0;
    std::chrono::milliseconds timeout{1500};
    std::chrono::milliseconds catch_up{2000};
};

// {"ok": true, "verdict": "in_sync" | "incomplete" | "catching_up" | "diverged" |
//  "unreachable" | "split_brain", "summary": "IN SYNC at index 12" (or what differs), "index",
//  "expected_nodes", "nodes": [...], "differences": [...], "masters": [...]}. Never throws
// for a node that cannot be reached: that node carries an "error" and the verdict says
// "unreachable". "incomplete": the nodes found agree, but fewer than expected_nodes were
// found (a node none of them names: without --peers, a replica not connected to the master).
// "catching_up": every difference was seen at another index than the master's (lag while
// writes keep arriving), where show_all would say diverged.
json::object cluster_overview(const OverviewSources& sources);

}  // namespace sqlrep
