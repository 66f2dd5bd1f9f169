#pragma once
// What a role borrows from the node that runs it: the pieces that outlive a role change
// (configuration, read connections, the applied index readers wait on, the cluster's
// term and master) and the node's answers to what a role cannot decide alone.

#include <functional>
#include <memory>
#include <string>

#include "shared/client_request.hpp"
#include "shared/cluster_state.hpp"
#include "shared/http_types.hpp"
#include "shared/index_watch.hpp"
#include "shared/net.hpp"
#include "shared/node_config.hpp"
#include "shared/published_index.hpp"
#include "shared/read_pool.hpp"

namespace sqlrep {

struct NodeServices {
    const NodeConfig& config;
    std::string cluster_token;
    ReadPool& reads;
    // The last index this node's database holds: committed on a master, applied on a
    // replica. Local reads with min_index wait on it.
    IndexWatch& applied;
    // The writer's last commit, for reads to answer with; the role's writer publishes it.
    PublishedIndex& published;
    ClusterState& cluster;
    net::io_context& ioc;  // the main I/O context: timers, ack waits
    // Towards other nodes over https (null for http).
    std::shared_ptr<ssl::context> client_tls;
    // Runs a read on this node's data (the master's strong reads).
    std::function<void(ClientRequest, Respond)> local_read;
    // A role met a later term than ours, with its master when known (id -1, url ""). The
    // node then follows that master (a master steps down at once). Any thread; returns
    // at once.
    std::function<void(int64_t term, int master_id, std::string master_url)> newer_term;
    // Why a master may not acknowledge anything now ("" when it may): set by the
    // election when the master's etcd lease may be gone.
    std::function<std::string()> fence_reason = [] { return std::string(); };
};

}  // namespace sqlrep
