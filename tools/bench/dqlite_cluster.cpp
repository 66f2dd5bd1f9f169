#include "dqlite_cluster.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "interrupt.hpp"
#include "shared/http_client.hpp"

namespace sqlrep::bench {

namespace {

using namespace std::chrono_literals;
constexpr int kNodes = 3;
constexpr const char* kDemo = "/usr/bin/dqlite-demo";
constexpr const char* kShell = "/usr/bin/dqlite";

// Runs a shell command and returns its stdout; throws when it exits non-zero.
std::string capture(const std::string& command) {
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed: " + command);
    std::string out;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    int status = ::pclose(pipe);
    if (status != 0) throw std::runtime_error(command + " failed:\n" + out);
    return out;
}

void install_if_missing() {
    if (::access(kDemo, X_OK) == 0 && ::access(kShell, X_OK) == 0) return;
    std::cerr << "bench: dqlite-demo missing, installing Debian's go-dqlite ...\n";
    capture("DEBIAN_FRONTEND=noninteractive apt-get install -y go-dqlite");
}

std::string node_name(int node) { return "dqlite-" + std::to_string(node + 1); }

size_t count_voters(const std::string& cluster_listing) {
    size_t voters = 0;
    for (size_t at = 0; (at = cluster_listing.find("|voter", at)) != std::string::npos; ++at)
        ++voters;
    return voters;
}

}  // namespace

std::unique_ptr<DqliteCluster> DqliteCluster::start() {
    install_if_missing();
    std::unique_ptr<DqliteCluster> cluster(new DqliteCluster);
    cluster->dir_ = std::make_unique<ScratchDir>("bench-dqlite");
    auto ports = free_ports(2 * kNodes);
    for (int i = 0; i < kNodes; ++i) {
        const std::string api = "127.0.0.1:" + std::to_string(ports[2 * i]);
        const std::string db = "127.0.0.1:" + std::to_string(ports[2 * i + 1]);
        cluster->api_urls_.push_back("http://" + api);
        cluster->db_addresses_.push_back(db);
        std::vector<std::string> args{"--api", api,     "--db",
                                      db,      "--dir", cluster->dir_->sub(node_name(i), true)};
        if (i > 0) {
            args.push_back("--join");
            args.push_back(cluster->db_addresses_[0]);
        }
        cluster->args_.push_back(std::move(args));
        cluster->processes_.emplace_back();
        cluster->launch(i);
        if (i == 0) interrupt::sleep_for(500ms);  // let the first node bootstrap before joins
    }

    // Joining nodes start as spares; the leader promotes them. Wait for three voters.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::string last;
    for (;;) {
        for (auto& process : cluster->processes_)
            if (!process->running())
                throw std::runtime_error(process->name() + " exited; log:\n" +
                                         process->log_tail(20));
        try {
            last = cluster->shell(".cluster");
            if (count_voters(last) == kNodes) {
                std::string leader = cluster->shell(".leader");
                for (int i = 0; i < kNodes; ++i)
                    if (leader.find(cluster->db_addresses_[i]) != std::string::npos)
                        cluster->leader_url_ = cluster->api_urls_[i];
                if (!cluster->leader_url_.empty()) break;
            }
        } catch (const std::runtime_error& e) {
            last = e.what();
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("dqlite cluster did not form within 60 s: " + last);
        interrupt::sleep_for(200ms);
    }
    for (const auto& url : cluster->api_urls_)
        if (url != cluster->leader_url_) cluster->follower_url_ = url;

    // The demo creates its table on start; wait until every node's API answers.
    for (const auto& url : cluster->api_urls_) {
        HttpClient client(url);
        for (;;) {
            try {
                if (client.get("/bench-ready", 2s).status == 200) break;
            } catch (const std::exception&) {
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("dqlite-demo API not answering at " + url);
            interrupt::sleep_for(100ms);
        }
    }
    return cluster;
}

DqliteCluster::~DqliteCluster() {
    for (auto it = processes_.rbegin(); it != processes_.rend(); ++it)
        if (*it) (*it)->kill();
}

void DqliteCluster::launch(int node) {
    const std::string name = node_name(node);
    processes_[static_cast<size_t>(node)] = std::make_unique<ChildProcess>(
        name, kDemo, args_[static_cast<size_t>(node)], dir_->sub(name + ".log"));
}

int DqliteCluster::leader_node() const {
    const std::string leader = shell(".leader");
    for (std::size_t i = 0; i < db_addresses_.size(); ++i)
        if (leader.find(db_addresses_[i]) != std::string::npos) return static_cast<int>(i);
    return -1;
}

int DqliteCluster::wait_healthy(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last = "no answer";
    for (;;) {
        for (auto& process : processes_)
            if (!process->running())
                throw std::runtime_error(process->name() + " exited; log:\n" +
                                         process->log_tail(20));
        try {
            // Healthy: three voters, a leader, and every node's API answering (dqlite-demo
            // opens it once its node has joined).
            std::string listing = shell(".cluster");
            int leader = count_voters(listing) == kNodes ? leader_node() : -1;
            bool answering = leader >= 0;
            for (std::size_t i = 0; answering && i < api_urls_.size(); ++i) {
                HttpClient client(api_urls_[i]);
                HttpResult result = client.get("/bench-ready", 2s);
                answering = result.status == 200;
                if (!answering) last = api_urls_[i] + ": HTTP " + std::to_string(result.status);
            }
            if (answering) return leader;
            if (leader < 0) last = listing;
        } catch (const std::exception& e) {
            last = e.what();
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("dqlite cluster not healthy within " +
                                     std::to_string(timeout.count() / 1000) + " s: " + last);
        interrupt::sleep_for(50ms);
    }
}

void DqliteCluster::kill_node(int node) { processes_[static_cast<size_t>(node)]->kill(); }

void DqliteCluster::restart_node(int node) { launch(node); }

void DqliteCluster::write(Request& request, const std::string& key,
                          const std::string& value) const {
    request.method = http::verb::put;
    request.target = "/" + key;
    request.body = value;
}

bool DqliteCluster::write_succeeded(const HttpResult& result) const {
    // dqlite-demo answers 200 even on failure, with "Error: ..." as the body.
    return result.status == 200 && result.body.rfind("Error", 0) != 0;
}

std::set<std::string> DqliteCluster::stored_keys(const std::string& prefix) {
    wait_healthy(60s);
    // The shell prints one row per line; bench's keys hold no quote, newline or '|'.
    std::string listing = shell("SELECT key FROM model WHERE substr(key, 1, " +
                                std::to_string(prefix.size()) + ") = '" + prefix + "'");
    std::set<std::string> keys;
    std::size_t at = 0;
    while (at < listing.size()) {
        std::size_t end = listing.find('\n', at);
        if (end == std::string::npos) end = listing.size();
        if (end > at) keys.insert(listing.substr(at, end - at));
        at = end + 1;
    }
    return keys;
}

std::string DqliteCluster::shell(const std::string& command) const {
    // timeout 30 dqlite -s a,b,c demo '<command, single quotes escaped for sh>'
    std::string line = "timeout 30 ";
    line += kShell;
    line += " -s ";
    for (std::size_t i = 0; i < db_addresses_.size(); ++i) {
        if (i > 0) line += ',';
        line += db_addresses_[i];
    }
    line += " demo '";
    for (char c : command) {
        if (c == '\'')
            line += "'\\''";
        else
            line += c;
    }
    line += '\'';
    return capture(line);
}

void DqliteCluster::run_sql(const std::string& sql) const { shell(sql); }

std::string DqliteCluster::package_version() {
    try {
        std::string version = capture("dpkg-query -W -f='${Version}' go-dqlite");
        return version;
    } catch (const std::exception&) {
        return "unknown";
    }
}

}  // namespace sqlrep::bench
