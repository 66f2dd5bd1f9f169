#include "shared/cluster_compare.hpp"

namespace sqlrep {

int Verdict::exit_code() const {
    switch (kind) {
        case VerdictKind::in_sync:
            return 0;
        case VerdictKind::diverged:
            return 2;
        case VerdictKind::unreachable:
            return 3;
        case VerdictKind::split_brain:
            return 4;
    }
    return 3;
}

const char* verdict_name(VerdictKind kind) {
    switch (kind) {
        case VerdictKind::in_sync:
            return "in_sync";
        case VerdictKind::diverged:
            return "diverged";
        case VerdictKind::unreachable:
            return "unreachable";
        case VerdictKind::split_brain:
            return "split_brain";
    }
    return "unreachable";
}

namespace {

bool claims_master(const NodeFacts& node) { return node.reachable() && node.role == "master"; }

void compare_replica(const NodeFacts& master, const NodeFacts& replica,
                     std::vector<Difference>& out) {
    // A replica that says it diverged has stopped applying; whatever its checksums say,
    // none of its tables can be trusted to follow the master.
    if (replica.diverged()) {
        std::string reason = "the node reports state diverged";
        if (!replica.checksum_error.empty()) reason += " (" + replica.checksum_error + ")";
        for (const auto& table : master.tables)
            out.push_back({table.name, replica.address, reason});
        if (master.tables.empty()) out.push_back({"(all tables)", replica.address, reason});
        return;
    }
    for (const auto& theirs : master.tables) {
        const TableSummary* ours = replica.find_table(theirs.name);
        if (!ours)
            out.push_back({theirs.name, replica.address, "missing on this node"});
        else if (ours->rows != theirs.rows)
            out.push_back(
                {theirs.name, replica.address,
                 std::to_string(ours->rows) + " rows, master has " + std::to_string(theirs.rows)});
        else if (ours->checksum != theirs.checksum)
            out.push_back({theirs.name, replica.address, "checksum differs"});
    }
    for (const auto& ours : replica.tables)
        if (!master.find_table(ours.name))
            out.push_back({ours.name, replica.address, "missing on the master"});
}

}  // namespace

size_t reference_node(const std::vector<NodeFacts>& nodes) {
    size_t best = nodes.size();
    for (size_t i = 0; i < nodes.size(); ++i)
        if (claims_master(nodes[i]) && (best == nodes.size() || nodes[i].term > nodes[best].term))
            best = i;
    return best < nodes.size() || nodes.empty() ? best : 0;
}

Verdict compare_nodes(const std::vector<NodeFacts>& nodes) {
    Verdict verdict;
    for (const auto& node : nodes) {
        if (!node.reachable()) verdict.unreachable.push_back(node.address);
        if (claims_master(node)) verdict.masters.push_back({node.address, node.term});
    }
    bool same_term = false;
    for (size_t a = 0; a < verdict.masters.size(); ++a)
        for (size_t b = a + 1; b < verdict.masters.size(); ++b)
            same_term = same_term || verdict.masters[a].term == verdict.masters[b].term;

    // Without the reference there is nothing to compare against.
    verdict.reference = reference_node(nodes);
    if (verdict.reference < nodes.size() && nodes[verdict.reference].reachable()) {
        const NodeFacts& master = nodes[verdict.reference];
        verdict.index = master.checksum_index;
        for (size_t i = 0; i < nodes.size(); ++i) {
            if (i == verdict.reference || !nodes[i].reachable()) continue;
            size_t first_new = verdict.differences.size();
            compare_replica(master, nodes[i], verdict.differences);
            if (nodes[i].checksum_index == master.checksum_index || nodes[i].diverged()) continue;
            // A difference seen at another index may be lag rather than divergence; the
            // reports say so.
            verdict.lagging.push_back({nodes[i].address, nodes[i].checksum_index});
            for (size_t d = first_new; d < verdict.differences.size(); ++d) {
                verdict.differences[d].lagging = true;
                verdict.differences[d].node_index = nodes[i].checksum_index;
            }
        }
    }

    if (same_term)
        verdict.kind = VerdictKind::split_brain;
    else if (!verdict.unreachable.empty())
        verdict.kind = VerdictKind::unreachable;
    else if (!verdict.differences.empty())
        verdict.kind = VerdictKind::diverged;
    return verdict;
}

}  // namespace sqlrep
