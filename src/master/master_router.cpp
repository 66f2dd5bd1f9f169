#include "master/master_router.hpp"

#include <charconv>

#include <spdlog/spdlog.h>

#include "master/stream_session.hpp"
#include "shared/stream_messages.hpp"

namespace sqlrep::master {
namespace {

// Query-string value of `key` in a target like "/path?a=1&b=2", or empty.
std::string query_param(std::string_view target, std::string_view key) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return "";
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == key && eq != std::string_view::npos)
            return std::string(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        rest = rest.substr(amp + 1);
    }
    return "";
}

std::optional<int64_t> to_int(const std::string& text) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

constexpr std::string_view kStreamPath = "/_cluster/stream";

}  // namespace

MasterRouter::MasterRouter(const NodeConfig& config, const std::string& cluster_token,
                           ReadPool& reads, IndexWatch& committed, Sequencer& sequencer,
                           ReplicaRegistry& registry, const EntryRing& ring)
    : NodeRouter(config, cluster_token, reads, committed, sequencer.published()),
      sequencer_(sequencer),
      registry_(registry),
      ring_(ring) {}

void MasterRouter::serve_exec(ClientRequest req, const HttpRequest&, Respond respond) {
    AckMode mode = req.ack.value_or(config_.default_ack);
    auto timeout = std::chrono::milliseconds(config_.ack_timeout_ms);
    ExecutionRule rule = req.may_change_schema ? ExecutionRule::write : ExecutionRule::data_write;
    sequencer_.submit(
        std::move(req.statements),
        [this, mode, timeout, respond](WriteOutcome outcome) {
            // On the writer thread: only hand the result on.
            if (outcome.error) return respond(error_response(*outcome.error));
            int64_t index = outcome.index;
            auto result = std::make_shared<ExecutionResult>(std::move(outcome.result));
            registry_.wait_for_ack(
                mode, index, timeout, [this, mode, index, result, respond](bool acked) {
                    if (!acked) {
                        int needed = registry_.replicas_needed(mode);
                        return respond(error_response(
                            ErrorKind::timeout,
                            "the write is committed on the master at index " +
                                std::to_string(index) + " but not yet acknowledged by " +
                                std::to_string(needed) + " of " +
                                std::to_string(registry_.num_replicas()) +
                                " replica(s) (ack=" + ack_mode_name(mode) + ") within " +
                                std::to_string(config_.ack_timeout_ms) + " ms"));
                    }
                    respond(
                        json_response(200, json::object{{"ok", true},
                                                        {"index", index},
                                                        {"rows_affected", result->rows_affected},
                                                        {"last_insert_id", result->last_insert_id},
                                                        {"results", std::move(result->results)}}));
                });
        },
        rule);
}

void MasterRouter::serve_strong_read(ClientRequest req, const HttpRequest&, Respond respond) {
    // The master has applied everything it ever acknowledged: a local read is strong.
    serve_local_read(std::move(req), std::move(respond));
}

json::object MasterRouter::status() {
    int64_t index = applied_.value();
    return json::object{{"ok", true},
                        {"node_id", 0},
                        {"role", "master"},
                        {"term", sequencer_.term()},
                        {"applied_index", index},
                        {"master", config_.advertised_url()},
                        {"state", "serving"},
                        {"num_replicas", registry_.num_replicas()},
                        {"default_ack", ack_mode_name(config_.default_ack)},
                        {"replicas", registry_.status(index)}};
}

// Ready while writes with the default ack can be acknowledged: enough replicas are
// connected for it.
std::string MasterRouter::not_ready_reason() {
    int needed = registry_.replicas_needed(config_.default_ack);
    int connected = registry_.connected();
    if (connected >= needed) return "";
    return std::to_string(connected) + " of " + std::to_string(registry_.num_replicas()) +
           " replica(s) connected; writes with --ack " + ack_mode_name(config_.default_ack) +
           " need " + std::to_string(needed);
}

std::optional<HttpResponse> MasterRouter::check_upgrade(const HttpRequest& req, PeerInfo peer) {
    std::string_view target = req.target();
    if (target.substr(0, target.find('?')) != kStreamPath)
        return error_response(ErrorKind::not_found, "no WebSocket endpoint here");
    if (!has_cluster_token(req))
        return error_response(ErrorKind::forbidden,
                              "the replication stream needs the right cluster token");
    if (std::string problem = node_peer_problem(peer); !problem.empty())
        return error_response(ErrorKind::forbidden, problem);
    auto id = to_int(query_param(target, "replica_id"));
    auto from = to_int(query_param(target, "from"));
    if (!id || *id < 1 || *id > registry_.num_replicas())
        return error_response(ErrorKind::bad_request,
                              "replica_id must be 1.." + std::to_string(registry_.num_replicas()) +
                                  " (the master was started with that many replicas)");
    if (!from || *from < 0)
        return error_response(ErrorKind::bad_request, "from must be a non-negative index");
    if (std::string proto = query_param(target, "proto");
        proto != std::to_string(kStreamProtocol)) {
        std::string problem =
            stream_protocol_mismatch("replica " + std::to_string(*id), proto, "this master");
        spdlog::warn("refused a replication stream: {}", problem);
        return error_response(ErrorKind::conflict, problem);
    }
    std::string hash = query_param(target, "hash");
    if (!hash.empty()) {
        try {
            hash_from_hex(hash);
        } catch (const Error& e) {
            return error_response(e);
        }
    }
    return std::nullopt;
}

void MasterRouter::take_upgrade(ByteStream stream, HttpRequest req) {
    std::string_view target = req.target();
    StreamSession::Start start;
    start.replica_id = static_cast<int>(*to_int(query_param(target, "replica_id")));
    start.from = *to_int(query_param(target, "from"));
    if (std::string hash = query_param(target, "hash"); !hash.empty())
        start.hash = hash_from_hex(hash);
    start.wants_snapshot = query_param(target, "snapshot") == "1";
    std::make_shared<StreamSession>(std::move(stream), start, registry_, ring_, reads_, applied_,
                                    config_.data_dir)
        ->run(std::move(req));
}

}  // namespace sqlrep::master
