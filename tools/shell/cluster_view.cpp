#include "cluster_view.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include "shared/error.hpp"

namespace sqlrep::shell {

namespace {

constexpr std::chrono::milliseconds kPeerTimeout{3000};

json::object status_of(NodeConnection& node) {
    Answer answer = node.get("/status");
    if (!answer.ok()) throw Error(ErrorKind::bad_request, answer.error());
    return answer.body.as_object();
}

std::optional<json::object> try_status(NodeConnection& node) {
    try {
        return status_of(node);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

json::value field(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v != nullptr ? *v : json::value(nullptr);
}

std::string ready_of(NodeConnection& node) {
    try {
        return node.get("/ready").status == 200 ? "yes" : "no";
    } catch (const std::exception&) {
        return "no";
    }
}

// A connection of its own to another node, with the same token and TLS options.
std::unique_ptr<NodeConnection> connect(const NodeConnection& node, const std::string& url) {
    return std::make_unique<NodeConnection>(url, node.options(), kPeerTimeout);
}

// id, url, role, term, applied_index, lag, state, connected, ready.
json::array node_row(json::value id, const std::string& url, const std::optional<json::object>& s,
                     json::value lag, json::value connected, const std::string& ready) {
    if (!s)
        return json::array{id,  url,           nullptr,   nullptr, nullptr,
                           lag, "unreachable", connected, ready};
    return json::array{id,
                       url,
                       field(*s, "role"),
                       field(*s, "term"),
                       field(*s, "applied_index"),
                       lag,
                       field(*s, "state"),
                       connected,
                       ready};
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

void print_cluster(NodeConnection& node, ResultPrinter& printer) {
    json::object own = status_of(node);
    std::string master_url;
    std::optional<json::object> master;
    std::unique_ptr<NodeConnection> master_connection;
    if (const json::value role = field(own, "role");
        role.is_string() && role.get_string() == "master") {
        master_url = node.origin();
        master = own;
    } else if (const json::value m = field(own, "master");
               m.is_string() && !m.get_string().empty()) {
        master_url = std::string(m.get_string());
        master_connection = connect(node, master_url);
        master = try_status(*master_connection);
    }

    json::array rows;
    if (master_url.empty()) {  // no master known: this node alone
        rows.push_back(
            node_row(field(own, "node_id"), node.origin(), own, nullptr, nullptr, ready_of(node)));
    } else {
        NodeConnection& m = master_connection ? *master_connection : node;
        json::value master_id = master ? field(*master, "node_id") : field(own, "master_id");
        rows.push_back(node_row(master_id, master_url, master, 0, nullptr, ready_of(m)));
        const json::value replicas = master ? field(*master, "replicas") : json::value();
        if (replicas.is_array()) {
            for (const json::value& r : replicas.get_array()) {
                const json::object& replica = r.as_object();
                std::string url = field(replica, "url").is_string()
                                      ? std::string(field(replica, "url").get_string())
                                      : std::string();
                std::optional<json::object> s;
                std::string ready = "no";
                if (!url.empty()) {
                    auto c = connect(node, url);
                    s = try_status(*c);
                    ready = ready_of(*c);
                }
                rows.push_back(node_row(field(replica, "id"), url, s, field(replica, "lag"),
                                        field(replica, "connected"), ready));
            }
        }
    }
    printer.print_rows(json::array{"id", "url", "role", "term", "applied_index", "lag", "state",
                                   "connected", "ready"},
                       rows);
}

}  // namespace sqlrep::shell
