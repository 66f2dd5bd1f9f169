#pragma once
// show_all's human output: each node's status and table contents, the per-table summary
// and the verdict lines. Writes to the stream given; pure formatting, no network.

#include <cstdint>
#include <ostream>
#include <vector>

#include "shared/cluster_compare.hpp"
#include "shared/node_facts.hpp"
#include "terminal.hpp"

namespace sqlrep::show_all {

struct TextReportOptions {
    int64_t limit = 20;          // rows shown per table (what --limit asked for)
    size_t max_cell_width = 60;  // longer cells are cut with "…"
};

void print_nodes(std::ostream& out, const std::vector<NodeFacts>& nodes,
                 const TextReportOptions& options, const Palette& palette);

void print_summary(std::ostream& out, const std::vector<NodeFacts>& nodes, const Verdict& verdict,
                   const Palette& palette);

// IN SYNC / DIVERGED / UNREACHABLE (and LAGGING notes), one fact per line; first a WARNING
// when several nodes claim the master role (SPLIT BRAIN when two share a term).
void print_verdict(std::ostream& out, const std::vector<NodeFacts>& nodes, const Verdict& verdict,
                   const Palette& palette);

}  // namespace sqlrep::show_all
