#include "replica/replica_router.hpp"

#include "shared/sql_executor.hpp"

namespace sqlrep::replica {
namespace {

HttpResponse pass_through(const HttpResult& result) {
    HttpResponse res{static_cast<http::status>(result.status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::server, "sqlrep");
    res.body() = result.body;
    return res;
}

Error master_unreachable(const std::string& url, const Error& e) {
    return Error(ErrorKind::unavailable, "cannot reach the master at " + url + ": " + e.what());
}

}  // namespace

ReplicaRouter::ReplicaRouter(const NodeConfig& config, const std::string& cluster_token,
                             ReadPool& reads, IndexWatch& applied, StreamFollower& follower,
                             WriteForwarder& forwarder, const Applier& applier)
    : NodeRouter(config, cluster_token, reads, applied, applier.published()),
      follower_(follower),
      forwarder_(forwarder),
      applier_(applier) {}

void ReplicaRouter::serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) {
    // Answered, not thrown: `respond` is ours now, the caller's is moved-from.
    if (follower_.state() == FollowerState::diverged)
        return respond(error_response(
            ErrorKind::diverged,
            "this replica has diverged from the master and does not take writes; send them to " +
                config_.master_url));
    // Classify here first: a schema change is refused without bothering the master.
    reads_.post_client([this, statements = std::move(req.statements), body = raw.body(),
                        respond](Connection& conn) mutable {
        try {
            if (contains_privileged(conn, statements))
                return respond(error_response(
                    ErrorKind::forbidden,
                    "schema changes (CREATE/DROP/ALTER) run only on the master: send them to " +
                        config_.master_url));
        } catch (const Error& e) {
            return respond(error_response(e));
        }
        forward_write(std::move(body), std::move(respond));
    });
}

void ReplicaRouter::forward_write(std::string body, Respond respond) {
    forwarder_.forward(std::move(body), [this, respond](std::optional<HttpResult> result,
                                                        std::optional<Error> error) {
        if (error)
            return respond(error_response(master_unreachable(forwarder_.master_url(), *error)));
        if (result->status != 200) return respond(pass_through(*result));

        boost::system::error_code ec;
        json::value parsed = json::parse(result->body, ec);
        const json::value* index =
            ec || !parsed.is_object() ? nullptr : parsed.get_object().if_contains("index");
        if (index == nullptr || !index->is_int64())
            return respond(error_response(ErrorKind::internal,
                                          "the master's answer has no index: " + result->body));
        int64_t wanted = index->get_int64();
        // Answer once applied here, so the client can read its write on this node.
        applied_.wait(
            wanted, std::chrono::milliseconds(config_.wait_timeout_ms),
            [this, wanted, result = std::move(*result), respond](bool reached) {
                if (reached) return respond(pass_through(result));
                respond(error_response(ErrorKind::timeout,
                                       "the write is committed on the master at index " +
                                           std::to_string(wanted) +
                                           " but this replica has not applied "
                                           "it within " +
                                           std::to_string(config_.wait_timeout_ms) + " ms"));
            });
    });
}

void ReplicaRouter::serve_strong_read(ClientRequest, const HttpRequest& raw, Respond respond) {
    // On the read lane: a strong read may wait on the master for its min_index or its query
    // time, and must not hold the threads that forward writes.
    forwarder_.forward_read(
        raw.body(), [this, respond](std::optional<HttpResult> result, std::optional<Error> error) {
            if (error)
                return respond(error_response(master_unreachable(forwarder_.master_url(), *error)));
            respond(pass_through(*result));
        });
}

// A diverged replica's rows are not the master's: no read is answered from them until a
// snapshot has replaced them (the follower then says following again).
std::string ReplicaRouter::local_read_refusal() {
    if (follower_.state() != FollowerState::diverged) return "";
    return "this replica has diverged from the master and serves no reads until it has "
           "resynced: " +
           follower_.last_error() + "; read from " + config_.master_url + " or another replica";
}

std::string readiness_problem(std::string_view state, const std::string& last_error,
                              int64_t applied, int64_t master_index, int64_t max_lag) {
    if (state != "following")
        return "the replica is " + std::string(state) +
               (last_error.empty() ? "" : ": " + last_error);
    if (int64_t lag = master_index - applied; lag > max_lag)
        return std::to_string(lag) + " entries behind the master (--ready-max-lag " +
               std::to_string(max_lag) + ")";
    return "";
}

// Ready while following the master and close behind it, so a load balancer sends reads
// only to replicas that serve recent data.
std::string ReplicaRouter::not_ready_reason() {
    return readiness_problem(follower_.state_name(), follower_.last_error(), applied_.value(),
                             follower_.master_commit_index(), config_.ready_max_lag);
}

json::object ReplicaRouter::status() {
    int64_t applied = applied_.value();
    int64_t master_index = std::max(applied, follower_.master_commit_index());
    return json::object{{"ok", true},
                        {"node_id", config_.node_id},
                        {"role", "replica"},
                        {"term", applier_.term()},
                        {"applied_index", applied},
                        {"master", config_.master_url},
                        {"state", follower_.state_name()},
                        {"last_error", follower_.last_error()},
                        {"resyncs", follower_.resyncs()},
                        {"master_index", master_index},
                        {"lag", master_index - applied},
                        {"replicas", json::array{}}};
}

}  // namespace sqlrep::replica
