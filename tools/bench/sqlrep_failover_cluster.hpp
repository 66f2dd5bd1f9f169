#pragma once
// The sqlrep cluster the failover measurement kills masters in: an etcd member
// (etcd_member.hpp) and three nodes, `master 2` (node 0), `replica 1 2`, `replica 2 2`, on
// free 127.0.0.1 ports sharing a temp --data-dir and a random --cluster-token, each with
// --peers (all three), --etcd and --cluster-name bench, default lease (--lease-ttl-ms 3000).
// With --etcd every node starts as a replica and an election picks the master. Writes go to
// any node with ack=quorum (a replica forwards them to the master). The table is kv (see
// workload.hpp), created by start().
//
// The destructor kills the nodes, then etcd (SIGKILL + waitpid), and removes the dirs.
//
// Thread contract: see failover_target.hpp.

#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "etcd_member.hpp"
#include "failover_target.hpp"
#include "scratch_dir.hpp"

namespace sqlrep::bench {

class SqlrepFailoverCluster : public FailoverTarget {
  public:
    // Starts etcd and the nodes, waits for an elected master and creates kv. Throws
    // std::runtime_error (with a log tail) when something does not come up.
    static std::unique_ptr<SqlrepFailoverCluster> start(const std::string& bin_dir,
                                                        const std::string& sync);
    ~SqlrepFailoverCluster() override;
    SqlrepFailoverCluster(const SqlrepFailoverCluster&) = delete;
    SqlrepFailoverCluster& operator=(const SqlrepFailoverCluster&) = delete;

    std::string system() const override { return "sqlrep"; }
    const std::vector<std::string>& node_urls() const override { return urls_; }
    int wait_healthy(std::chrono::milliseconds timeout) override;
    void kill_node(int node) override;
    void restart_node(int node) override;
    void write(Request& request, const std::string& key, const std::string& value) const override;
    bool write_succeeded(const HttpResult& result) const override;
    std::set<std::string> stored_keys(const std::string& prefix) override;

  private:
    SqlrepFailoverCluster() = default;
    void launch(int node);

    std::unique_ptr<EtcdMember> etcd_;  // declared first: killed after the nodes
    std::unique_ptr<ScratchDir> dir_;
    std::vector<std::string> urls_;
    struct Launch {
        std::string name, binary, log;
        std::vector<std::string> args;
    };
    std::vector<Launch> launches_;  // node i's command line
    std::vector<std::unique_ptr<ChildProcess>> processes_;
    int leader_ = -1;  // as of the last wait_healthy()
};

}  // namespace sqlrep::bench
