#include "replica/replica_role.hpp"

#include <cstdio>
#include <random>

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

// The master's error answer, passed on with what became of the write: the master's own
// outcome, unless an earlier attempt may have reached a master (then a refusal proves
// nothing) or the answer has none (a refusal before the master looked at the request is
// a 4xx; anything else is unknown).
HttpResponse pass_through_error(const HttpResult& result, bool maybe_applied) {
    boost::system::error_code ec;
    json::value body = json::parse(result.body, ec);
    const json::value* named =
        ec || !body.is_object() ? nullptr : body.get_object().if_contains("outcome");
    std::optional<ExecOutcome> outcome;
    if (named != nullptr && named->is_string()) outcome = parse_exec_outcome(named->get_string());
    if (!outcome) outcome = result.status < 500 ? ExecOutcome::not_applied : ExecOutcome::unknown;
    if (*outcome == ExecOutcome::not_applied && maybe_applied) outcome = ExecOutcome::unknown;
    return with_exec_outcome(pass_through(result), *outcome);
}

// "<node id>-<16 random hex digits>": a request id for a write whose client sent none, so
// the forwarder may send it again safely.
std::string new_request_id(int node_id) {
    thread_local std::mt19937_64 random{std::random_device{}()};
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random()));
    return std::to_string(node_id) + "-" + hex;
}

// `body` (a JSON object, as parsed) with "request_id": `id` added as its first member.
// Text is inserted rather than the JSON re-serialized, so every other byte (numbers read
// exactly) reaches the master as the client sent it.
std::string with_request_id(std::string body, const std::string& id) {
    std::size_t brace = body.find('{');
    body.insert(brace + 1, "\"request_id\":\"" + id + "\",");
    return body;
}

}  // namespace

ReplicaRole::ReplicaRole(const NodeServices& node, std::function<void()> master_lost,
                         bool was_master)
    : node_(node), unchecked_(was_master) {
    auto writer = std::make_unique<Connection>(node.config.database_path(),
                                               Connection::Mode::writer, node.config.sync);
    writer->checkpoint_in_background();
    applier_ = std::make_unique<Applier>(std::move(writer), node.config.log_retain, node.published);
    node.applied.reset(applier_->position().index);
    forwarder_ = std::make_unique<WriteForwarder>(
        node.cluster, node.client_tls, node.cluster_token, node.config.forward_threads,
        std::chrono::milliseconds(node.config.wait_timeout_ms * 2),
        std::chrono::milliseconds(node.config.wait_timeout_ms));
    follower_ = std::make_unique<StreamFollower>(node.config, node.client_tls, node.cluster_token,
                                                 *applier_, node.applied, node.cluster,
                                                 std::move(master_lost));
    follower_->start();
}

ReplicaRole::~ReplicaRole() { stop(); }

void ReplicaRole::stop() {
    if (stopped_.exchange(true)) return;
    follower_->stop();
    forwarder_->stop();
    applier_->close();
}

void ReplicaRole::serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) {
    constexpr ExecOutcome not_applied = ExecOutcome::not_applied;
    // Answered, not thrown: `respond` is ours now, the caller's is moved-from.
    if (follower_->state() == FollowerState::diverged)
        return respond(exec_error_response(
            ErrorKind::diverged,
            "this replica has diverged from the master and does not take writes; send them to " +
                node_.cluster.master_url(),
            not_applied));
    // Every forwarded write has a request id, so the forwarder may send it again when its
    // fate is unknown.
    std::string body = req.request_id.empty()
                           ? with_request_id(raw.body(), new_request_id(node_.cluster.self_id()))
                           : raw.body();
    // Classify here first: a schema change is refused without bothering the master.
    node_.reads.post_client([this, statements = std::move(req.statements), body = std::move(body),
                             respond](Connection& conn) mutable {
        try {
            if (contains_privileged(conn, statements))
                return respond(exec_error_response(
                    ErrorKind::forbidden,
                    "schema changes (CREATE/DROP/ALTER) run only on the master: send them to " +
                        node_.cluster.master_url(),
                    not_applied));
        } catch (const Error& e) {
            return respond(exec_error_response(e, not_applied));
        }
        forward_write(std::move(body), std::move(respond));
    });
}

void ReplicaRole::forward_write(std::string body, Respond respond) {
    forwarder_->forward(std::move(body), true, [this, respond](WriteForwarder::Forwarded sent) {
        if (sent.error)
            return respond(exec_error_response(
                *sent.error, sent.maybe_applied ? ExecOutcome::unknown : ExecOutcome::not_applied));
        const HttpResult& result = *sent.result;
        if (result.status != 200) return respond(pass_through_error(result, sent.maybe_applied));

        boost::system::error_code ec;
        json::value parsed = json::parse(result.body, ec);
        const json::value* index =
            ec || !parsed.is_object() ? nullptr : parsed.get_object().if_contains("index");
        if (index == nullptr || !index->is_int64())
            return respond(exec_error_response(ErrorKind::internal,
                                               "the master's answer has no index: " + result.body,
                                               ExecOutcome::unknown));
        int64_t wanted = index->get_int64();
        // Answer once applied here, so the client can read its write on this node.
        node_.applied.wait(
            wanted, std::chrono::milliseconds(node_.config.wait_timeout_ms),
            [this, wanted, result = std::move(*sent.result), respond](bool reached) {
                if (reached) return respond(pass_through(result));
                respond(exec_error_response(
                    ErrorKind::timeout,
                    "the write is committed on the master at index " + std::to_string(wanted) +
                        " but this replica has not applied "
                        "it within " +
                        std::to_string(node_.config.wait_timeout_ms) + " ms",
                    ExecOutcome::committed, wanted));
            });
    });
}

void ReplicaRole::serve_strong_read(ClientRequest, const HttpRequest& raw, Respond respond) {
    // On the read lane: a strong read may wait on the master for its min_index or its query
    // time, and must not hold the threads that forward writes.
    forwarder_->forward_read(
        raw.body(), [respond](std::optional<HttpResult> result, std::optional<Error> error) {
            if (error) return respond(error_response(*error));
            respond(pass_through(*result));
        });
}

// A diverged replica's rows are not the master's: no read is answered from them until a
// snapshot has replaced them (the follower then says following again).
std::string ReplicaRole::local_read_refusal() {
    FollowerState state = follower_->state();
    // A node that was master until now may hold writes the new master never had: it
    // serves no read until the new master has seen its log (it follows) or replaced it.
    if (unchecked_.load()) {
        if (state != FollowerState::following)
            return "this node was master until just now and may hold writes that were never "
                   "acknowledged; it serves reads once the new master has checked its log. Read "
                   "from " +
                   node_.cluster.master_url() + " or another replica";
        unchecked_ = false;
    }
    if (state != FollowerState::diverged) return "";
    return "this replica has diverged from the master and serves no reads until it has "
           "resynced: " +
           follower_->last_error() + "; read from " + node_.cluster.master_url() +
           " or another replica";
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
std::string ReplicaRole::not_ready_reason() {
    return readiness_problem(follower_->state_name(), follower_->last_error(),
                             node_.applied.value(), follower_->master_commit_index(),
                             node_.config.ready_max_lag);
}

json::object ReplicaRole::status() {
    int64_t applied = node_.applied.value();
    int64_t master_index = std::max(applied, follower_->master_commit_index());
    return json::object{{"ok", true},
                        {"node_id", node_.cluster.self_id()},
                        {"role", "replica"},
                        {"term", node_.cluster.term()},
                        {"last_term", applier_->term()},
                        {"applied_index", applied},
                        {"log_first_index", applier_->log_first_index()},
                        {"master", node_.cluster.master_url()},
                        {"state", follower_->state_name()},
                        {"last_error", follower_->last_error()},
                        {"resyncs", follower_->resyncs()},
                        {"master_index", master_index},
                        {"lag", master_index - applied},
                        {"replicas", json::array{}}};
}

}  // namespace sqlrep::replica
