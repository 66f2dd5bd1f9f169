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
        const std::string name = "dqlite-" + std::to_string(i + 1);
        std::vector<std::string> args{"--api", api,     "--db",
                                      db,      "--dir", cluster->dir_->sub(name, true)};
        if (i > 0) {
            args.push_back("--join");
            args.push_back(cluster->db_addresses_[0]);
        }
        cluster->processes_.push_back(
            std::make_unique<ChildProcess>(name, kDemo, args, cluster->dir_->sub(name + ".log")));
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
    for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) (*it)->kill();
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
