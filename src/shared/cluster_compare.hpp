#pragma once
// Judges whether a cluster is in sync from the facts gathered about its nodes (by show_all's
// ClusterProbe, or a node's cluster overview for the console): every other node's tables
// (names, row counts, checksums) against the reference node's. The reference is the master
// found from /status (see reference_node), so any node may be master (#17). Also lists the
// nodes that claim the master role: two in one term is split brain. Pure functions, no I/O.

#include <cstdint>
#include <string>
#include <vector>

#include "shared/node_facts.hpp"

namespace sqlrep {

struct Difference {
    std::string table;
    std::string node;        // the compared node's address
    std::string reason;      // e.g. "missing on this node", "checksum differs"
    bool lagging = false;    // the replica was at another index than the master
    int64_t node_index = 0;  // the replica's /checksum index
};

// A reachable replica whose /checksum index never matched the master's within --wait: behind
// it, or ahead of it when writes kept arriving between the reads.
struct Lag {
    std::string node;
    int64_t index = 0;
};

// A reachable node whose /status says role "master".
struct MasterClaim {
    std::string node;  // address
    int64_t term = 0;
};

enum class VerdictKind { in_sync, diverged, unreachable, split_brain };

struct Verdict {
    VerdictKind kind = VerdictKind::in_sync;
    // Position in the nodes compared of the reference (see reference_node); equal to their
    // count when there were none.
    size_t reference = 0;
    int64_t index = 0;  // the reference's checksum index everything was compared at
    std::vector<Difference> differences;
    std::vector<std::string> unreachable;  // addresses
    std::vector<Lag> lagging;
    // Every node claiming the master role, in node order. More than one is a transition (the
    // lower term steps down) unless two share a term: then `kind` is split_brain.
    std::vector<MasterClaim> masters;

    // 0 in sync, 2 diverged, 3 a node unreachable (which wins over diverged), 4 two nodes
    // claim the master role in the same term (which wins over everything).
    int exit_code() const;
};

// The node the others are compared against: the reachable node that says role "master" in
// the highest term (the first of them on a tie), else the first node. nodes.size() when
// `nodes` is empty.
size_t reference_node(const std::vector<NodeFacts>& nodes);

Verdict compare_nodes(const std::vector<NodeFacts>& nodes);

// "in_sync", "diverged", "unreachable", "split_brain": the spelling used in show_all's --json
// and GET /_cluster/overview.
const char* verdict_name(VerdictKind kind);

}  // namespace sqlrep
