#pragma once
// Judges whether a cluster is in sync from the facts ClusterProbe gathered: every replica's
// tables (names, row counts, checksums) against the master's, the master being the first
// node. Pure functions, no I/O.

#include <cstdint>
#include <string>
#include <vector>

#include "node_facts.hpp"

namespace sqlrep::show_all {

struct Difference {
    std::string table;
    std::string node;        // the replica's address
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

enum class VerdictKind { in_sync, diverged, unreachable };

struct Verdict {
    VerdictKind kind = VerdictKind::in_sync;
    int64_t index = 0;  // the master's checksum index everything was compared at
    std::vector<Difference> differences;
    std::vector<std::string> unreachable;  // addresses
    std::vector<Lag> lagging;

    // 0 in sync, 2 diverged, 3 a node unreachable (which wins over diverged).
    int exit_code() const;
};

Verdict compare_nodes(const std::vector<NodeFacts>& nodes);

// "in_sync", "diverged", "unreachable": the spelling used in --json.
const char* verdict_name(VerdictKind kind);

}  // namespace sqlrep::show_all
