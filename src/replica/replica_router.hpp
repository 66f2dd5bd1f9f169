#pragma once
// The replica's HTTP routes: reads run here; writes are classified here (schema changes
// are refused with the master's address), forwarded to the master, and answered once
// this replica has applied them itself, so a client reads its own writes where it wrote.

#include "replica/stream_follower.hpp"
#include "replica/write_forwarder.hpp"
#include "shared/node_router.hpp"

namespace sqlrep::replica {

// Why a replica should get no traffic (GET /ready answers 503 with it), or "" when it
// may: it must be following its master and at most `max_lag` entries behind it.
// `state` is the follower's state name, `last_error` its last error.
std::string readiness_problem(std::string_view state, const std::string& last_error,
                              int64_t applied, int64_t master_index, int64_t max_lag);

class ReplicaRouter : public NodeRouter {
  public:
    ReplicaRouter(const NodeConfig& config, const std::string& cluster_token, ReadPool& reads,
                  IndexWatch& applied, StreamFollower& follower, WriteForwarder& forwarder,
                  const Applier& applier);

  protected:
    void serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    void serve_strong_read(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    json::object status() override;
    std::string not_ready_reason() override;
    std::string local_read_refusal() override;

  private:
    void forward_write(std::string body, Respond respond);

    StreamFollower& follower_;
    WriteForwarder& forwarder_;
    const Applier& applier_;
};

}  // namespace sqlrep::replica
