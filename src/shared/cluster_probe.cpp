#include "shared/cluster_probe.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>

#include "shared/cluster_compare.hpp"

namespace sqlrep {

namespace {

// Parses a node's JSON answer; throws with the node's own message when the request failed,
// so the caller can show it as the reason the node could not be inspected.
json::object parse_answer(const HttpResult& result, const std::string& what) {
    json::value body;
    try {
        body = json::parse(result.body);
    } catch (const std::exception&) {
        throw std::runtime_error(what + ": HTTP " + std::to_string(result.status) +
                                 " with a body that is not JSON");
    }
    const json::object* object = body.if_object();
    if (!object) throw std::runtime_error(what + ": answer is not a JSON object");
    const json::value* ok = object->if_contains("ok");
    if (result.status != 200 || !ok || !ok->is_bool() || !ok->get_bool()) {
        std::string message = "HTTP " + std::to_string(result.status);
        if (const json::value* error = object->if_contains("error"); error && error->is_string())
            message += ": " + std::string(error->get_string());
        throw std::runtime_error(what + ": " + message);
    }
    return *object;
}

int64_t int_field(const json::object& object, const char* name) {
    const json::value* v = object.if_contains(name);
    if (v && v->is_int64()) return v->get_int64();
    if (v && v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
    return 0;
}

std::string string_field(const json::object& object, const char* name) {
    const json::value* v = object.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::string quote_identifier(const std::string& name) {
    std::string quoted = "\"";
    for (char c : name) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

ClusterProbe::ClusterProbe(const std::vector<std::string>& addresses,
                           std::chrono::milliseconds timeout, const ClientOptions& client_options,
                           std::map<std::string, std::string> headers)
    : timeout_(timeout), headers_(std::move(headers)) {
    for (const auto& address : addresses) {
        NodeFacts node;
        node.address = address;
        std::unique_ptr<HttpClient> client;
        try {
            client = std::make_unique<HttpClient>(address, client_options);
        } catch (const std::exception& e) {
            node.error = e.what();
        }
        nodes_.push_back(std::move(node));
        clients_.push_back(std::move(client));
    }
}

void ClusterProbe::probe() {
    // One thread per node so that a node that does not answer costs one timeout in all,
    // not one per node. Each thread touches only its own node and client.
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < nodes_.size(); ++i)
        if (clients_[i]) threads.emplace_back([this, i] { probe_node(i); });
}

void ClusterProbe::probe_node(size_t i) {
    NodeFacts& node = nodes_[i];
    try {
        json::object status =
            parse_answer(clients_[i]->request(http::verb::get, "/status", "", headers_, timeout_),
                         "GET /status");
        node.role = string_field(status, "role");
        node.term = int_field(status, "term");
        node.applied_index = int_field(status, "applied_index");
        node.state = string_field(status, "state");
        node.master = string_field(status, "master");
        node.status = std::move(status);
    } catch (const std::exception& e) {
        node.error = e.what();
        clients_[i].reset();
        return;
    }
    try {
        node.checksum_error.clear();
        read_checksum(i);
    } catch (const std::exception& e) {
        // A diverged replica may refuse to checksum; that is divergence, not unreachability.
        if (node.diverged()) {
            node.checksum_error = e.what();
            return;
        }
        node.error = e.what();
        clients_[i].reset();
    }
}

void ClusterProbe::read_checksum(size_t i) {
    NodeFacts& node = nodes_[i];
    json::object answer =
        parse_answer(clients_[i]->request(http::verb::get, "/checksum", "", headers_, timeout_),
                     "GET /checksum");
    node.checksum_index = int_field(answer, "index");
    node.tables.clear();
    const json::value* tables = answer.if_contains("tables");
    if (!tables || !tables->is_array())
        throw std::runtime_error("GET /checksum: answer has no \"tables\" list");
    for (const json::value& entry : tables->get_array()) {
        const json::object* t = entry.if_object();
        if (!t) continue;
        node.tables.push_back(
            {string_field(*t, "name"), int_field(*t, "rows"), string_field(*t, "checksum")});
    }
    // Tables in name order so that every node's listing lines up.
    std::sort(node.tables.begin(), node.tables.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
}

bool ClusterProbe::wait_for_catch_up(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        const size_t ref = reference_node(nodes_);
        if (ref >= nodes_.size() || !nodes_[ref].reachable()) return false;
        const int64_t target = nodes_[ref].checksum_index;
        bool agreed = true;
        bool other_ahead = false;
        // A diverged replica will not catch up by waiting.
        auto waits_for = [&](size_t i) {
            return i != ref && nodes_[i].reachable() && !nodes_[i].diverged();
        };
        for (size_t i = 0; i < nodes_.size(); ++i) {
            if (!waits_for(i)) continue;
            agreed = agreed && nodes_[i].checksum_index == target;
            other_ahead = other_ahead || nodes_[i].checksum_index > target;
        }
        if (agreed) return true;
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(100), deadline - now));

        // Each refresh re-reads /status too so the applied index shown matches the
        // checksum compared.
        for (size_t i = 0; i < nodes_.size(); ++i) {
            bool behind = waits_for(i) && nodes_[i].checksum_index < target;
            bool reference_stale = i == ref && other_ahead;
            if (behind || reference_stale) probe_node(i);
        }
    }
}

void ClusterProbe::sample_tables(int64_t limit) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
        NodeFacts& node = nodes_[i];
        node.samples.clear();
        if (!node.reachable()) continue;
        for (const auto& table : node.tables) node.samples.push_back(sample_table(i, table, limit));
    }
}

TableSample ClusterProbe::sample_table(size_t i, const TableSummary& table, int64_t limit) {
    TableSample sample;
    sample.name = table.name;
    if (limit <= 0) {
        sample.rows_left_out = table.rows;
        return sample;
    }
    // One row beyond the limit tells whether rows were left out even if the table grew
    // since /checksum counted it. min_index keeps the sample no older than that count.
    json::object request{{"command", "query"},
                         {"query", "SELECT * FROM " + quote_identifier(table.name) + " LIMIT " +
                                       std::to_string(limit + 1)},
                         {"min_index", nodes_[i].checksum_index}};
    try {
        json::object answer = parse_answer(
            clients_[i]->post("/", json::serialize(request), headers_, timeout_), "query");
        if (const json::value* columns = answer.if_contains("columns");
            columns && columns->is_array())
            for (const json::value& c : columns->get_array())
                sample.columns.push_back(c.is_string() ? std::string(c.get_string())
                                                       : json::serialize(c));
        if (const json::value* rows = answer.if_contains("rows"); rows && rows->is_array())
            for (const json::value& row : rows->get_array())
                sample.rows.push_back(row.is_array() ? row.get_array() : json::array{row});
    } catch (const std::exception& e) {
        sample.error = e.what();
        return sample;
    }
    auto fetched = static_cast<int64_t>(sample.rows.size());
    if (fetched > limit) {
        sample.rows.resize(static_cast<size_t>(limit));
        sample.rows_left_out = std::max<int64_t>(table.rows - limit, fetched - limit);
    }
    return sample;
}

}  // namespace sqlrep
