#pragma once
// One sqlrep node: everything that outlives a role (the HTTP listener and routes, the
// read connections, the applied index, the cluster state) plus the role it plays now,
// master or replica, which it swaps without restarting: when promoted (by an operator,
// a handover or an election) and when it meets a later term (it steps down and follows).
//
// Role changes run one at a time on the node's control thread; the HTTP edge sees the
// new role as soon as it is set. An old role is stopped (threads joined, writer
// connection closed) but kept alive: callbacks of requests in flight may point at it.

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "shared/cluster_state.hpp"
#include "shared/http_server.hpp"
#include "shared/index_watch.hpp"
#include "shared/io_threads.hpp"
#include "shared/node_config.hpp"
#include "shared/node_role.hpp"
#include "shared/node_router.hpp"
#include "shared/node_services.hpp"
#include "shared/published_index.hpp"
#include "shared/read_pool.hpp"

namespace sqlrep {

// What another node says about itself (GET /status), for finding the master and judging
// a promotion.
struct PeerStatus {
    int id = -1;
    std::string url;
    std::string role;
    int64_t term = 0;
    int64_t last_term = 0;  // the term of its last entry
    int64_t applied = 0;
    std::string state;
    bool etcd_reachable = false;
};

class Elector;

class Node : public ClusterControl {
  public:
    // `start_as_master`: the role the command line gave (`master <n>`). Without etcd the
    // node plays it at once (a replica follows --master, or the master --peers name);
    // with etcd it starts as a replica and the election decides.
    Node(NodeConfig config, bool start_as_master);
    ~Node() override;

    // Serves until SIGINT or SIGTERM; returns the process's exit code.
    int run();

    void promote(bool force, Respond respond) override;
    void handover(int target, Respond respond) override;
    void announce(int id, std::string url, int64_t term, Respond respond) override;
    void prepare(int candidate, int64_t term, Respond respond) override;
    void overview(Respond respond) override;

    // For the election (control thread or any thread; they post to the control thread).
    void on_newer_term(int64_t term, int master_id, std::string master_url);
    void on_master_lost();
    // Becomes master with `term` (the election won it); `done` runs once it is.
    void take_master_role(int64_t term, std::function<void(bool ok)> done);
    // This node's position: the term of its last entry and its index (any thread).
    std::pair<int64_t, int64_t> position() const;
    ClusterState& cluster() { return cluster_; }
    bool is_master() const;
    // Whether this node's data may decide an election (not while diverged), and why not.
    bool may_lead() const { return why_not_lead().empty(); }
    std::string why_not_lead() const;
    const NodeConfig& config() const { return config_; }
    // Other nodes' statuses (blocking, bounded by `timeout` each); unreachable ones left out.
    std::vector<PeerStatus> poll_peers(std::chrono::milliseconds timeout) const;

  private:
    // Control thread only.
    void start_first_role();
    void become_master(int64_t term);
    // `was_master`: this node may have been master before (it is, now, unless it just
    // started), so it serves no read until the new master has checked its log.
    void become_replica(bool was_master = false);
    void set_role(std::shared_ptr<NodeRole> role);
    void locate_master();
    // Why promoting this node could lose acknowledged writes, or "" when it cannot.
    std::string promotion_risk(const std::vector<PeerStatus>& peers) const;
    // Sends /_cluster/prepare for `term` to `peers` (in parallel, bounded); returns the
    // positions of those that took it.
    std::vector<PeerStatus> fence_peers(const std::vector<PeerStatus>& peers, int64_t term) const;
    // Tells every other node that `master_id` is master of `term` (best effort).
    void announce_to_peers(int master_id, const std::string& master_url, int64_t term) const;
    void run_on_control(std::function<void()> fn);

    const NodeConfig config_;
    const bool start_as_master_;
    const std::string token_;
    std::shared_ptr<ssl::context> server_tls_;
    std::shared_ptr<ssl::context> client_tls_;
    ClusterState cluster_;  // first: it opens (and creates) the database
    IoThreads io_;
    ReadPool reads_;
    IndexWatch applied_;
    PublishedIndex published_;
    NodeServices services_;
    NodeRouter router_;
    std::shared_ptr<HttpListener> listener_;
    std::unique_ptr<Elector> elector_;

    net::io_context control_;
    net::executor_work_guard<net::io_context::executor_type> control_work_;
    std::thread control_thread_;
    std::shared_ptr<NodeRole> role_;                  // control thread
    std::vector<std::shared_ptr<NodeRole>> retired_;  // control thread
    std::atomic<bool> is_master_{false};
    // Cluster overviews being gathered (each on a thread of its own), to bound them.
    std::shared_ptr<std::atomic<int>> overviews_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace sqlrep
