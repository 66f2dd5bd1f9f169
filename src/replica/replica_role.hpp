#pragma once
// The replica role: it follows the master's stream (StreamFollower applies it through
// the Applier, which owns this node's writer connection while the role lasts); reads run
// here; writes are classified here (schema changes are refused with the master's
// address), forwarded to the master, and answered once this replica has applied them
// itself, so a client reads its own writes where it wrote.

#include "replica/applier.hpp"
#include "replica/stream_follower.hpp"
#include "replica/write_forwarder.hpp"
#include "shared/node_role.hpp"
#include "shared/node_services.hpp"

namespace sqlrep::replica {

// Why a replica should get no traffic (GET /ready answers 503 with it), or "" when it
// may: it must be following its master and at most `max_lag` entries behind it.
// `state` is the follower's state name, `last_error` its last error.
std::string readiness_problem(std::string_view state, const std::string& last_error,
                              int64_t applied, int64_t master_index, int64_t max_lag);

class ReplicaRole : public NodeRole {
  public:
    // Opens the node's database for writing and starts following the master the
    // cluster state names. `master_lost()` runs (on the follower's thread) when that
    // master cannot be followed: unreachable, or of an older term than ours.
    // `was_master`: the node stepped down to this role, so its log may end in entries
    // no one acknowledged; it serves no read until the new master has checked it.
    ReplicaRole(const NodeServices& node, std::function<void()> master_lost,
                bool was_master = false);
    ~ReplicaRole() override;

    const char* name() const override { return "replica"; }
    void serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    void serve_strong_read(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    json::object status() override;
    std::string not_ready_reason() override;
    std::string local_read_refusal() override;
    void stop() override;

    // Whether this node's data has diverged from the master's (until a snapshot is in).
    bool diverged() const { return follower_->state() == FollowerState::diverged; }

    // The term of the last entry this node holds (any thread).
    int64_t last_term() const { return applier_->term(); }

  private:
    void forward_write(std::string body, Respond respond);

    const NodeServices& node_;
    std::unique_ptr<Applier> applier_;
    std::unique_ptr<StreamFollower> follower_;
    std::unique_ptr<WriteForwarder> forwarder_;
    std::atomic<bool> stopped_{false};
    std::atomic<bool> unchecked_;  // stepped down, not yet following the new master
};

}  // namespace sqlrep::replica
