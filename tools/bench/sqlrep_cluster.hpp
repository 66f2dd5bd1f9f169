#pragma once
// The sqlrep nodes a benchmark runs against. Either started here, on free 127.0.0.1 ports
// in a temp dir (the seed's command lines: `master <n>`, `replica <id> <n>`, sharing
// --data-dir and an explicit --cluster-token), or given by URL with --nodes, in which case
// nothing is started and the process-level figures (catch-up, RSS) are unavailable.
// The destructor kills every process it started (SIGKILL + waitpid) and removes the dir.
//
// Thread contract: main thread only. The URLs may be read from any thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "scratch_dir.hpp"
#include "shared/http_client.hpp"

namespace sqlrep::bench {

// A fresh --cluster-token for the nodes bench starts (64 hex digits).
std::string random_cluster_token();

struct SqlrepLaunch {
    std::string bin_dir;  // where `master` and `replica` are
    int replicas = 2;     // 0: a lone master (`master 0`)
    std::string sync = "full";
    std::string name = "sqlrep";  // temp dir prefix and log names
};

class SqlrepCluster {
  public:
    // Starts the nodes and waits until every one answers /health and every replica is
    // following. Throws std::runtime_error (with the node's log tail) on failure.
    // `extra_args` go to every node.
    static std::unique_ptr<SqlrepCluster> start(const SqlrepLaunch& launch,
                                                const std::vector<std::string>& extra_args = {});
    // Targets running nodes: the master first, then the replicas. Checks /health.
    static std::unique_ptr<SqlrepCluster> attach(const std::vector<std::string>& urls,
                                                 const ClientOptions& client);

    ~SqlrepCluster();
    SqlrepCluster(const SqlrepCluster&) = delete;
    SqlrepCluster& operator=(const SqlrepCluster&) = delete;

    const std::string& master_url() const { return master_url_; }
    const std::vector<std::string>& replica_urls() const { return replica_urls_; }
    // Null when attached to nodes we did not start.
    ChildProcess* master_process() { return processes_.empty() ? nullptr : processes_[0].get(); }
    ChildProcess* replica_process(std::size_t i) {
        return processes_.size() > i + 1 ? processes_[i + 1].get() : nullptr;
    }

    // Replica `id` (1..n) joins again as a new node: killed, its database files removed,
    // started with the same command line (it then takes a snapshot). Returns once it
    // answers /health; `wait_applied` tells when it has caught up. Started clusters only.
    void rejoin_replica(int id);
    // The size of the master's database file (bytes), or 0 when not known.
    uint64_t master_database_bytes() const;

    // GET /status "applied_index" of `url`; throws when it cannot be read.
    static int64_t applied_index(const std::string& url, const ClientOptions& client = {});
    // Blocks until `url` has applied `index`, polling /status every millisecond; returns
    // false when `timeout` passes first. Throws Interrupted on SIGINT.
    static bool wait_applied(const std::string& url, int64_t index,
                             std::chrono::milliseconds timeout, const ClientOptions& client = {});

  private:
    SqlrepCluster() = default;
    void wait_ready(ChildProcess& process, const std::string& url, bool replica);

    std::unique_ptr<ScratchDir> dir_;  // declared first: destroyed after the processes
    std::vector<std::unique_ptr<ChildProcess>> processes_;
    std::string master_url_;
    std::vector<std::string> replica_urls_;
    // Started clusters: what rejoin_replica needs.
    std::string data_dir_;
    std::string replica_binary_;
    std::vector<std::vector<std::string>> replica_args_;  // by id - 1
};

}  // namespace sqlrep::bench
