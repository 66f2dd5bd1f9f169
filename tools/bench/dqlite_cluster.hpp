#pragma once
// A 3-node dqlite cluster for comparison: Debian's `dqlite-demo` (package go-dqlite,
// installed with apt-get when missing), each node with --api (HTTP: PUT /<key> stores the
// body, GET /<key> returns it) and --db (Raft) on free 127.0.0.1 ports, the 2nd and 3rd
// joining the 1st. start() returns once all three are voters and a leader is known.
// The destructor kills every node (SIGKILL + waitpid) and removes the temp dir.
//
// As a FailoverTarget (failover_target.hpp) the leader is the one the `dqlite` shell's
// `.leader` names, writes are PUTs through any node (dqlite-demo's driver sends them to the
// leader) and a killed node restarts with its first command line (same --dir; a node that
// has joined once ignores --join).
//
// Thread contract: main thread only. The URLs may be read from any thread; write() and
// write_succeeded() as failover_target.hpp says.

#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "failover_target.hpp"
#include "scratch_dir.hpp"

namespace sqlrep::bench {

class DqliteCluster : public FailoverTarget {
  public:
    // Throws std::runtime_error when dqlite-demo cannot be installed or the cluster does not
    // form within a minute.
    static std::unique_ptr<DqliteCluster> start();
    ~DqliteCluster() override;
    DqliteCluster(const DqliteCluster&) = delete;
    DqliteCluster& operator=(const DqliteCluster&) = delete;

    // The HTTP API of the Raft leader, and of one follower.
    const std::string& leader_url() const { return leader_url_; }
    const std::string& follower_url() const { return follower_url_; }
    // Runs `sql` on the cluster's database through the `dqlite` shell; throws on failure.
    void run_sql(const std::string& sql) const;
    // dqlite-demo's version string as Debian packages it ("1.11.5-1+b4"), for the report.
    static std::string package_version();

    // FailoverTarget. leader_url() and follower_url() keep naming the nodes of start().
    std::string system() const override { return "dqlite"; }
    const std::vector<std::string>& node_urls() const override { return api_urls_; }
    int wait_healthy(std::chrono::milliseconds timeout) override;
    void kill_node(int node) override;
    void restart_node(int node) override;
    void write(Request& request, const std::string& key, const std::string& value) const override;
    bool write_succeeded(const HttpResult& result) const override;
    std::set<std::string> stored_keys(const std::string& prefix) override;

  private:
    DqliteCluster() = default;
    std::string shell(const std::string& command) const;
    void launch(int node);
    // The node number of the leader `.leader` names; -1 when none.
    int leader_node() const;

    std::unique_ptr<ScratchDir> dir_;
    std::vector<std::unique_ptr<ChildProcess>> processes_;
    std::vector<std::vector<std::string>> args_;  // node i's command line
    std::vector<std::string> api_urls_;
    std::vector<std::string> db_addresses_;
    std::string leader_url_;
    std::string follower_url_;
};

}  // namespace sqlrep::bench
