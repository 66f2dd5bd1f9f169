#pragma once
// show_all --json: the facts of the text report (nodes with their role and term, their
// tables' row counts and checksums, the nodes claiming the master role, the verdict) as one
// JSON document. Pure formatting, no network.

#include <string>
#include <vector>

#include "shared/cluster_compare.hpp"
#include "shared/node_facts.hpp"

namespace sqlrep::show_all {

std::string json_report(const std::vector<NodeFacts>& nodes, const Verdict& verdict);

}  // namespace sqlrep::show_all
