#pragma once
// The HTTP routes every node serves, with what master and replica do alike: parsing and
// validating requests, the node-to-node credential rules, local reads (with min_index),
// /health and /checksum. What differs by role (writes, strong reads, /status) is left to
// the role's subclass. See docs/API.md for the contract.
// /health, /ready and /metrics are here too; the role says what "ready" means.
//
// handle() runs on an I/O thread and never blocks for long: a read runs there only within
// a 2 ms budget, any other SQLite work goes to the ReadPool, waits go to IndexWatch.

#include <atomic>
#include <memory>
#include <string>

#include "shared/client_auth.hpp"
#include "shared/client_request.hpp"
#include "shared/http_server.hpp"
#include "shared/index_watch.hpp"
#include "shared/metrics.hpp"
#include "shared/node_config.hpp"
#include "shared/published_index.hpp"
#include "shared/read_pool.hpp"
#include "shared/rqlite_api.hpp"

namespace sqlrep {

class NodeRouter : public RequestHandler {
  public:
    // `published` is the writer's last committed index, which reads answer with.
    NodeRouter(const NodeConfig& config, const std::string& cluster_token, ReadPool& reads,
               IndexWatch& applied, const PublishedIndex& published);

    // `admission` carries the sender's role as check_headers judged it.
    void handle(HttpRequest req, PeerInfo peer, Admission admission, Respond respond) override;
    // The token rules, on the headers alone (before the body is read).
    std::optional<HttpResponse> check_headers(const HttpRequest& headers, PeerInfo peer,
                                              Admission& admission) override;
    bool is_node_request(const HttpRequest& headers) const override;

    // Requests received and not yet answered (for a graceful shutdown).
    std::size_t in_flight() const { return in_flight_->load(); }

  protected:
    // A validated exec request. `raw` is the original request (for forwarding).
    virtual void serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) = 0;
    // A query with level=strong.
    virtual void serve_strong_read(ClientRequest req, const HttpRequest& raw, Respond respond) = 0;
    virtual json::object status() = 0;
    // Why this node should get no traffic now (GET /ready answers 503 with it), or "".
    virtual std::string not_ready_reason() = 0;
    // Why this node must not answer reads from its own data now, or "" (a replica that
    // has diverged holds rows the master never wrote until it has resynced).
    virtual std::string local_read_refusal() { return ""; }

    // Runs a read here once this node has applied req.min_index (bounded wait).
    void serve_local_read(ClientRequest req, Respond respond);

    // Whether the request carries the right cluster token.
    bool has_cluster_token(const HttpRequest& req) const;
    // What the sender may do: admin on an open node and for node-to-node traffic (the
    // sending node checked its own client), else the role of its bearer token.
    // Throws Error(unauthorized) when --auth is on and the token is missing or unknown.
    Role client_role(const HttpRequest& req) const;
    // Mutual TLS: with --tls-ca, node-to-node traffic must come from a peer whose client
    // certificate verified against it. The reason to refuse with, or "" when allowed.
    std::string node_peer_problem(const PeerInfo& peer) const;

    const NodeConfig& config_;
    const std::string cluster_token_;
    const ClientAuth auth_;
    ReadPool& reads_;
    IndexWatch& applied_;
    const PublishedIndex& published_;

  private:
    Role check_credentials(const HttpRequest& req, const PeerInfo& peer) const;
    // `role`: check_credentials' verdict on `req`.
    void route(HttpRequest& req, const PeerInfo& peer, Role role, Respond& respond);
    // A local read once min_index is reached: inline when it may be, else on the pool.
    void run_local_read(ClientRequest req, Respond respond);
    bool run_read(Connection& conn, const ClientRequest& req,
                  std::chrono::steady_clock::time_point deadline, bool may_retry,
                  const Respond& respond);

    std::shared_ptr<std::atomic<std::size_t>> in_flight_ =
        std::make_shared<std::atomic<std::size_t>>(0);
    std::shared_ptr<ResponseCounter> responses_ = std::make_shared<ResponseCounter>();
    void serve_checksum(Respond respond);
    // rqlite's API beside sqlrep's (docs/API.md, "rqlite compatibility").
    std::unique_ptr<RqliteApi> rqlite_;
};

}  // namespace sqlrep
