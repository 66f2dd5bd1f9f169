#pragma once
// What the failover measurement (failover.hpp) needs from a cluster it kills the leader of:
// its nodes' client URLs, a wait for a healthy cluster that names the leader, SIGKILL and
// restart of one node, the write a client sends and the keys the cluster ended up with.
// Implemented by SqlrepFailoverCluster (sqlrep with etcd) and DqliteCluster.
//
// Thread contract: everything but write()/write_succeeded() on bench's main thread; those
// two are called concurrently by every load thread and must not touch mutable state.

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "shared/http_client.hpp"
#include "workload.hpp"

namespace sqlrep::bench {

class FailoverTarget {
  public:
    virtual ~FailoverTarget() = default;

    // "sqlrep" or "dqlite", for the report.
    virtual std::string system() const = 0;
    // Every node's client URL, in node order; fixed for the cluster's life.
    virtual const std::vector<std::string>& node_urls() const = 0;
    // Blocks until every node runs and answers, one leader serves and every other node
    // follows it; returns the leader's node number. Throws std::runtime_error after
    // `timeout`, Interrupted on SIGINT.
    virtual int wait_healthy(std::chrono::milliseconds timeout) = 0;
    // SIGKILL + waitpid of node `node`.
    virtual void kill_node(int node) = 0;
    // Starts node `node` again with its first command line (same data dir). Does not wait.
    virtual void restart_node(int node) = 0;
    // Fills `request` with a write of `key` (a new row, `value` as its value).
    virtual void write(Request& request, const std::string& key,
                       const std::string& value) const = 0;
    // Whether the node's answer acknowledges the write.
    virtual bool write_succeeded(const HttpResult& result) const = 0;
    // The keys starting with `prefix` the cluster's leader has; throws on failure.
    virtual std::set<std::string> stored_keys(const std::string& prefix) = 0;
};

}  // namespace sqlrep::bench
