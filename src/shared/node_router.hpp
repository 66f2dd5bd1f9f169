#pragma once
// The HTTP routes every node serves, with what master and replica do alike: parsing and
// validating requests, the node-to-node credential rules, local reads (with min_index),
// /health and /checksum. What differs by role (writes, strong reads, /status, the
// replication stream) is asked of the current NodeRole, which a promotion or a step-down
// swaps while the node keeps serving. /_cluster/promote, /handover and /announce go to
// the ClusterControl (src/node/). See docs/API.md for the contract.
// /health, /ready and /metrics are here too; the role says what "ready" means. So is the
// web console (console_page): GET /console, and GET / from a browser, with no token; the
// page asks for one, and GET /_auth/whoami tells it the token's role.
//
// handle() runs on an I/O thread and never blocks for long: a read runs there only within
// a 2 ms budget, any other SQLite work goes to the ReadPool, waits go to IndexWatch.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "shared/backup_routes.hpp"
#include "shared/change_feed_endpoint.hpp"
#include "shared/client_auth.hpp"
#include "shared/client_request.hpp"
#include "shared/cluster_state.hpp"
#include "shared/http_server.hpp"
#include "shared/index_watch.hpp"
#include "shared/metrics.hpp"
#include "shared/node_config.hpp"
#include "shared/node_role.hpp"
#include "shared/published_index.hpp"
#include "shared/read_pool.hpp"
#include "shared/response_stream.hpp"
#include "shared/rqlite_api.hpp"

namespace sqlrep {

// Cluster operations a node runs outside any one role (src/node/node.hpp).
class ClusterControl {
  public:
    virtual ~ClusterControl() = default;
    // POST /_cluster/promote on a replica: become master with a higher term.
    virtual void promote(bool force, Respond respond) = 0;
    // POST /_cluster/handover on the master: hand the master role to node `target`.
    virtual void handover(int target, Respond respond) = 0;
    // POST /_cluster/announce from a node that became master of `term`.
    virtual void announce(int id, std::string url, int64_t term, Respond respond) = 0;
    // POST /_cluster/prepare from node `candidate` about to promote itself with `term`
    // (without etcd): take the term and stop following the old master, then answer with
    // this node's position.
    virtual void prepare(int candidate, int64_t term, Respond respond) = 0;
    // GET /_cluster/overview: every node this one can find, their figures and checksums,
    // and the sync verdict (cluster_overview). Returns at once; answers from another thread.
    virtual void overview(Respond respond) = 0;
};

class NodeRouter : public RequestHandler {
  public:
    // `published` is the writer's last committed index, which reads answer with.
    NodeRouter(const NodeConfig& config, const std::string& cluster_token, ReadPool& reads,
               IndexWatch& applied, const PublishedIndex& published, ClusterState& cluster);

    // The role requests go to from now on (any thread). Set before the listener runs.
    // The caller keeps every role it ever set alive for as long as the router serves:
    // a request may still be using the previous one (so no reference count is taken
    // per request).
    void set_role(NodeRole* role);
    NodeRole* role() const;
    void set_control(ClusterControl* control) { control_ = control; }

    // `admission` carries the sender's role as check_headers judged it.
    void handle(HttpRequest req, PeerInfo peer, Admission admission, Respond respond) override;
    // The token rules, on the headers alone (before the body is read).
    std::optional<HttpResponse> check_headers(const HttpRequest& headers, PeerInfo peer,
                                              Admission& admission) override;
    bool is_node_request(const HttpRequest& headers) const override;
    std::optional<HttpResponse> check_upgrade(const HttpRequest& req, PeerInfo peer) override;
    void take_upgrade(ByteStream stream, HttpRequest req) override;

    // A route whose response is streamed (response_stream.hpp): GET `path` is handed the
    // connection and the sender's role (as check_headers judged it; the route checks that
    // it is enough). Register before the listener runs.
    using StreamRoute =
        std::function<void(std::shared_ptr<ResponseStream>, HttpRequest, Role role)>;
    void add_stream_route(std::string path, StreamRoute route);
    bool takes_stream(const HttpRequest& req) const override;
    void take_stream(ByteStream stream, HttpRequest req, PeerInfo peer,
                     Admission admission) override;

    // Requests received and not yet answered (for a graceful shutdown).
    std::size_t in_flight() const { return in_flight_->load(); }

    // Runs a read here once this node has applied req.min_index (bounded wait). The master
    // role serves its strong reads this way.
    void serve_local_read(ClientRequest req, Respond respond);

    // Whether the request carries the right cluster token.
    bool has_cluster_token(const HttpRequest& req) const;
    // Mutual TLS: with --tls-ca, node-to-node traffic must come from a peer whose client
    // certificate verified against it. The reason to refuse with, or "" when allowed.
    std::string node_peer_problem(const PeerInfo& peer) const;

  private:
    // What the sender may do: admin on an open node and for node-to-node traffic (the
    // sending node checked its own client), else the role of its bearer token.
    // Throws Error(unauthorized) when --auth is on and the token is missing or unknown.
    Role client_role(const HttpRequest& req) const;
    Role check_credentials(const HttpRequest& req, const PeerInfo& peer) const;
    // `role`: check_credentials' verdict on `req`.
    void route(HttpRequest& req, const PeerInfo& peer, Role role, Respond& respond);
    void route_cluster(std::string_view path, HttpRequest& req, Role role, Respond& respond);
    json::object status();
    // A local read once min_index is reached: inline when it may be, else on the pool.
    void run_local_read(ClientRequest req, Respond respond);
    bool run_read(Connection& conn, const ClientRequest& req,
                  std::chrono::steady_clock::time_point deadline, bool may_retry,
                  const Respond& respond);
    void serve_checksum(Respond respond);

    const NodeConfig& config_;
    const std::string cluster_token_;
    const ClientAuth auth_;
    ReadPool& reads_;
    IndexWatch& applied_;
    const PublishedIndex& published_;
    ClusterState& cluster_;
    ClusterControl* control_ = nullptr;

    std::atomic<NodeRole*> role_{nullptr};

    std::shared_ptr<std::atomic<std::size_t>> in_flight_ =
        std::make_shared<std::atomic<std::size_t>>(0);
    std::shared_ptr<ResponseCounter> responses_ = std::make_shared<ResponseCounter>();
    CommandCounter commands_;
    std::map<std::string, StreamRoute, std::less<>> stream_routes_;
    // rqlite's API beside sqlrep's (docs/API.md, "rqlite compatibility").
    std::unique_ptr<RqliteApi> rqlite_;
    // GET /backup and POST /restore (backup_routes.hpp).
    std::unique_ptr<BackupRoutes> backups_;
    // GET /changes, the change feed (docs/API.md).
    std::unique_ptr<ChangeFeedEndpoint> changes_;
};

}  // namespace sqlrep
