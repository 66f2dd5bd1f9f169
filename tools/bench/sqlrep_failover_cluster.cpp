#include "sqlrep_failover_cluster.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "interrupt.hpp"
#include "shared/http_client.hpp"
#include "sqlrep_cluster.hpp"
#include "workload.hpp"

namespace sqlrep::bench {

namespace {

using namespace std::chrono_literals;
constexpr int kNodes = 3;

std::string string_field(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : "";
}

int64_t int_field(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_int64() ? v->get_int64() : -1;
}

// POST `body` to `url`; the parsed answer, or throws with the node's answer.
json::object post(const std::string& url, const json::object& body) {
    HttpClient client(url);
    HttpResult result = client.post("/", json::serialize(body), {}, 30s);
    if (result.status != 200)
        throw std::runtime_error(fmt::format("POST / on {}: HTTP {} {}", url, result.status,
                                             result.body.substr(0, 300)));
    return json::parse(result.body).as_object();
}

}  // namespace

std::unique_ptr<SqlrepFailoverCluster> SqlrepFailoverCluster::start(const std::string& bin_dir,
                                                                    const std::string& sync) {
    std::unique_ptr<SqlrepFailoverCluster> cluster(new SqlrepFailoverCluster);
    cluster->etcd_ = EtcdMember::start();
    cluster->dir_ = std::make_unique<ScratchDir>("bench-failover");
    const std::string data_dir = cluster->dir_->sub("data", true);
    const std::string token = random_cluster_token();
    auto ports = free_ports(kNodes);
    std::string peers;
    for (int i = 0; i < kNodes; ++i) {
        cluster->urls_.push_back("http://127.0.0.1:" + std::to_string(ports[i]));
        peers += (i ? "," : "") + cluster->urls_.back();
    }
    for (int i = 0; i < kNodes; ++i) {
        Launch launch;
        launch.name = i == 0 ? "failover-master" : "failover-replica-" + std::to_string(i);
        launch.binary = bin_dir + (i == 0 ? "/master" : "/replica");
        launch.log = cluster->dir_->sub(launch.name + ".log");
        if (i > 0) launch.args.push_back(std::to_string(i));
        std::vector<std::string> flags{"2",
                                       "--host",
                                       "127.0.0.1",
                                       "--port",
                                       std::to_string(ports[i]),
                                       "--data-dir",
                                       data_dir,
                                       "--cluster-token",
                                       token,
                                       "--sync",
                                       sync,
                                       "--log-level",
                                       "warn",
                                       "--peers",
                                       peers,
                                       "--etcd",
                                       cluster->etcd_->url(),
                                       "--cluster-name",
                                       "bench"};
        launch.args.insert(launch.args.end(), flags.begin(), flags.end());
        cluster->launches_.push_back(std::move(launch));
        cluster->processes_.emplace_back();
        cluster->launch(i);
    }
    const int master = cluster->wait_healthy(60s);
    post(cluster->urls_[static_cast<size_t>(master)],
         {{"command", "exec"}, {"query", kSqlrepTableDdl}, {"ack", "all"}});
    return cluster;
}

SqlrepFailoverCluster::~SqlrepFailoverCluster() {
    for (auto it = processes_.rbegin(); it != processes_.rend(); ++it)
        if (*it) (*it)->kill();
}

void SqlrepFailoverCluster::launch(int node) {
    const Launch& launch = launches_[static_cast<size_t>(node)];
    processes_[static_cast<size_t>(node)] =
        std::make_unique<ChildProcess>(launch.name, launch.binary, launch.args, launch.log);
}

int SqlrepFailoverCluster::wait_healthy(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::string> last(kNodes, "no answer");
    for (;;) {
        interrupt::check();
        std::vector<json::object> statuses;
        for (int i = 0; i < kNodes; ++i) {
            ChildProcess& process = *processes_[static_cast<size_t>(i)];
            if (!process.running())
                throw std::runtime_error(process.name() + " exited; log:\n" + process.log_tail(20));
            try {
                HttpClient client(urls_[static_cast<size_t>(i)]);
                HttpResult result = client.get("/status", 1s);
                last[static_cast<size_t>(i)] = result.body.substr(0, 400);
                if (result.status == 200) statuses.push_back(json::parse(result.body).as_object());
            } catch (const std::exception& e) {
                last[static_cast<size_t>(i)] = e.what();
            }
        }
        if (statuses.size() == kNodes) {
            // Healthy: one serving master with the highest term, the others following it.
            int master = -1;
            int64_t master_term = -1, highest_term = -1;
            for (int i = 0; i < kNodes; ++i) {
                const json::object& s = statuses[static_cast<size_t>(i)];
                const int64_t term = int_field(s, "term");
                highest_term = std::max(highest_term, term);
                if (string_field(s, "role") == "master" && string_field(s, "state") == "serving" &&
                    term > master_term) {
                    master = i;
                    master_term = term;
                }
            }
            bool following = master >= 0 && master_term >= highest_term;
            for (int i = 0; following && i < kNodes; ++i) {
                if (i == master) continue;
                const json::object& s = statuses[static_cast<size_t>(i)];
                following = string_field(s, "role") == "replica" &&
                            string_field(s, "state") == "following" &&
                            string_field(s, "master") == urls_[static_cast<size_t>(master)];
            }
            if (following) return leader_ = master;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            std::string message =
                fmt::format("sqlrep cluster not healthy within {} s:", timeout.count() / 1000);
            for (int i = 0; i < kNodes; ++i)
                message += fmt::format("\n  node {}: {}", i, last[static_cast<size_t>(i)]);
            throw std::runtime_error(message);
        }
        interrupt::sleep_for(20ms);
    }
}

void SqlrepFailoverCluster::kill_node(int node) { processes_[static_cast<size_t>(node)]->kill(); }

void SqlrepFailoverCluster::restart_node(int node) { launch(node); }

void SqlrepFailoverCluster::write(Request& request, const std::string& key,
                                  const std::string& value) const {
    request.method = http::verb::post;
    request.target = "/";
    request.body =
        R"j({"command":"exec","query":"INSERT INTO kv(k, v) VALUES (?, ?)","params":[")j" + key +
        R"(",")" + value + R"("],"ack":"quorum"})";
}

bool SqlrepFailoverCluster::write_succeeded(const HttpResult& result) const {
    return result.status == 200;
}

std::set<std::string> SqlrepFailoverCluster::stored_keys(const std::string& prefix) {
    const int master = wait_healthy(60s);
    // In pages: a node caps the rows of one answer (--max-result-rows).
    std::set<std::string> keys;
    std::string after;
    for (;;) {
        json::object answer =
            post(urls_[static_cast<size_t>(master)],
                 {{"command", "query"},
                  {"query",
                   "SELECT k FROM kv WHERE k > ? AND substr(k, 1, ?) = ? ORDER BY k LIMIT 10000"},
                  {"params", json::array{after, static_cast<int64_t>(prefix.size()), prefix}}});
        const json::array& rows = answer.at("rows").as_array();
        for (const auto& row : rows) keys.insert(std::string(row.as_array().at(0).as_string()));
        if (rows.empty()) return keys;
        after = std::string(rows.back().as_array().at(0).as_string());
    }
}

}  // namespace sqlrep::bench
