#pragma once
// The master's HTTP routes: writes go to the sequencer and are answered once acked as
// the request's ack mode asks; reads run locally (the master is always "strong"); the
// replication stream is accepted on /_cluster/stream for replicas with the cluster token.

#include "master/entry_ring.hpp"
#include "master/replica_registry.hpp"
#include "master/sequencer.hpp"
#include "shared/node_router.hpp"

namespace sqlrep::master {

class MasterRouter : public NodeRouter {
  public:
    MasterRouter(const NodeConfig& config, const std::string& cluster_token, ReadPool& reads,
                 IndexWatch& committed, Sequencer& sequencer, ReplicaRegistry& registry,
                 const EntryRing& ring);

    std::optional<HttpResponse> check_upgrade(const HttpRequest& req, PeerInfo peer) override;
    void take_upgrade(ByteStream stream, HttpRequest req) override;

  protected:
    void serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    void serve_strong_read(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    json::object status() override;
    std::string not_ready_reason() override;

  private:
    Sequencer& sequencer_;
    ReplicaRegistry& registry_;
    const EntryRing& ring_;
};

}  // namespace sqlrep::master
