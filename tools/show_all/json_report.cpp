#include "json_report.hpp"

namespace sqlrep::show_all {

namespace {

json::object node_json(const NodeFacts& node) {
    json::object out;
    out["address"] = node.address;
    out["reachable"] = node.reachable();
    if (!node.reachable()) {
        out["error"] = node.error;
        return out;
    }
    out["role"] = node.role;
    out["term"] = node.term;
    out["applied_index"] = node.applied_index;
    out["state"] = node.state;
    out["checksum_index"] = node.checksum_index;
    json::array tables;
    for (const auto& t : node.tables)
        tables.push_back(
            json::object{{"name", t.name}, {"rows", t.rows}, {"checksum", t.checksum}});
    out["tables"] = std::move(tables);
    return out;
}

}  // namespace

std::string json_report(const std::vector<NodeFacts>& nodes, const Verdict& verdict) {
    json::array node_list;
    for (const auto& node : nodes) node_list.push_back(node_json(node));

    json::array differences;
    for (const auto& d : verdict.differences)
        differences.push_back(json::object{
            {"table", d.table}, {"node", d.node}, {"reason", d.reason}, {"lagging", d.lagging}});
    json::array unreachable;
    for (const auto& address : verdict.unreachable) unreachable.push_back(json::string(address));
    json::array lagging;
    for (const auto& lag : verdict.lagging)
        lagging.push_back(json::object{{"node", lag.node}, {"index", lag.index}});

    json::array masters;
    for (const auto& claim : verdict.masters)
        masters.push_back(json::object{{"node", claim.node}, {"term", claim.term}});

    const bool has_reference = verdict.reference < nodes.size();
    json::object doc;
    doc["nodes"] = std::move(node_list);
    // The node compared against: the master in the highest term, else the first node.
    doc["master"] =
        has_reference ? json::value(nodes[verdict.reference].address) : json::value(nullptr);
    doc["masters"] = std::move(masters);
    doc["verdict"] = verdict_name(verdict.kind);
    // No index when there was no master to read it from.
    bool master_read = has_reference && nodes[verdict.reference].reachable();
    doc["index"] = master_read ? json::value(verdict.index) : json::value(nullptr);
    doc["differences"] = std::move(differences);
    doc["unreachable"] = std::move(unreachable);
    doc["lagging"] = std::move(lagging);
    doc["exit_code"] = verdict.exit_code();
    return json::serialize(doc);
}

}  // namespace sqlrep::show_all
