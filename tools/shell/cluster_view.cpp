#include "cluster_view.hpp"

#include "shared/error.hpp"

namespace sqlrep::shell {

namespace {

json::object status_of(NodeConnection& node) {
    Answer answer = node.get("/status");
    if (!answer.ok()) throw Error(ErrorKind::bad_request, answer.error());
    return answer.body.as_object();
}

json::value field(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v != nullptr ? *v : json::value(nullptr);
}

}  // namespace

void print_status(NodeConnection& node, ResultPrinter& printer) {
    json::object status = status_of(node);
    json::array names;
    json::array values;
    for (const auto& [name, value] : status) {
        if (value.is_object() || value.is_array()) continue;  // replicas, build, ...: .nodes
        names.push_back(json::string(name));
        values.push_back(value);
    }
    if (printer.mode() != OutputMode::table) {  // one record: "name = value" lines, a CSV row
        printer.print_rows(names, json::array{values});
        return;
    }
    json::array rows;
    for (size_t i = 0; i < names.size(); ++i) rows.push_back(json::array{names[i], values[i]});
    printer.print_rows(json::array{"field", "value"}, rows);
}

void print_cluster(NodeConnection& node, ResultPrinter& printer, std::ostream& out) {
    // The node finds the others and judges them as show_all does (GET /_cluster/overview).
    Answer answer = node.get("/_cluster/overview");
    if (!answer.ok()) throw Error(ErrorKind::bad_request, answer.error());
    const json::object& overview = answer.body.as_object();
    const json::value nodes = field(overview, "nodes");
    json::array rows;
    for (const json::value& n : nodes.as_array()) {
        const json::object& o = n.as_object();
        json::value state = field(o, "reachable") == json::value(false) ? json::value("unreachable")
                                                                        : field(o, "state");
        rows.push_back(json::array{field(o, "node_id"), field(o, "url"), field(o, "role"),
                                   field(o, "term"), field(o, "applied_index"), field(o, "lag"),
                                   state, field(o, "connected"), field(o, "ready")});
    }
    printer.print_rows(json::array{"id", "url", "role", "term", "applied_index", "lag", "state",
                                   "connected", "ready"},
                       rows);
    if (const json::value summary = field(overview, "summary"); summary.is_string())
        out << std::string_view(summary.get_string()) << "\n";
}

}  // namespace sqlrep::shell
