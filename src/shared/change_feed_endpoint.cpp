#include "shared/change_feed_endpoint.hpp"

#include <spdlog/spdlog.h>

#include "shared/connection.hpp"
#include "shared/error.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"

namespace sqlrep {

ChangeFeedEndpoint::ChangeFeedEndpoint(const NodeConfig& config, ReadPool& reads,
                                       IndexWatch& applied)
    : context_{reads, applied,
               ChangeFeedLimits{config.changes_max_consumers, config.changes_queue_bytes,
                                std::chrono::milliseconds(config.changes_stall_ms),
                                std::chrono::milliseconds(config.changes_heartbeat_ms)}} {}

std::pair<ChangeFeedRequest, ChangeFeedSlot> ChangeFeedEndpoint::admit(const HttpRequest& req) {
    if (req.method() != http::verb::get)
        throw Error(ErrorKind::method_not_allowed, "/changes answers GET only");
    std::optional<std::string_view> last_event_id;
    if (auto it = req.find("Last-Event-ID"); it != req.end()) last_event_id = it->value();
    ChangeFeedRequest request = parse_change_feed_request(req.target(), last_event_id);
    std::optional<ChangeFeedSlot> slot =
        ChangeFeedSlot::take(consumers_, context_.limits.max_consumers);
    if (!slot)
        throw Error(ErrorKind::unavailable,
                    "this node already serves " + std::to_string(context_.limits.max_consumers) +
                        " /changes consumers (--changes-max-consumers); try another node or "
                        "later");
    return {std::move(request), std::move(*slot)};
}

void ChangeFeedEndpoint::check_first_index(const ChangeFeedRequest& request,
                                           std::function<void(std::optional<HttpResponse>)> go) {
    context_.reads.post_client(
        [from = request.from, snapshot = request.snapshot, go = std::move(go)](Connection& conn) {
            std::optional<HttpResponse> refusal;
            try {
                ReadTransaction txn(conn);
                int64_t first = conn.internal([&] { return first_log_index(conn); });
                if (!snapshot && from < first) {
                    json::object body{
                        {"ok", false},
                        {"error", "the log no longer holds index " + std::to_string(from) +
                                      "; its first index is " + std::to_string(first) +
                                      ": resume from there, or start again with "
                                      "snapshot=true"},
                        {"kind", "gone"},
                        {"first_index", first}};
                    refusal = json_response(410, body);
                }
            } catch (const std::exception& e) {
                refusal = error_response(ErrorKind::internal, e.what());
            }
            go(std::move(refusal));
        });
}

std::optional<HttpResponse> ChangeFeedEndpoint::check_upgrade(const HttpRequest& req) {
    try {
        admit(req);  // the slot goes back at once: take_upgrade takes its own
    } catch (const Error& e) {
        return error_response(e);
    }
    return std::nullopt;
}

void ChangeFeedEndpoint::take_upgrade(ByteStream stream, HttpRequest req) {
    try {
        auto [request, slot] = admit(req);
        auto session = std::make_shared<ChangeFeedSession>(std::move(stream), std::move(request),
                                                           context_, std::move(slot));
        session->run_websocket(std::move(req));
    } catch (const std::exception& e) {
        // Lost the race for the last slot since check_upgrade: the stream just closes.
        spdlog::info("change feed upgrade refused: {}", e.what());
    }
}

void ChangeFeedEndpoint::serve_sse(std::shared_ptr<ResponseStream> response, HttpRequest req) {
    auto [request, slot] = admit(req);  // throws: the router sends the refusal
    auto held = std::make_shared<std::pair<ChangeFeedRequest, ChangeFeedSlot>>(std::move(request),
                                                                               std::move(slot));
    check_first_index(held->first, [this, response, held](std::optional<HttpResponse> no) {
        if (no) return response->send_whole(std::move(*no));
        net::post(response->get_executor(), [this, response, held] {
            auto session = std::make_shared<ChangeFeedSession>(response, std::move(held->first),
                                                               context_, std::move(held->second));
            HttpResponse head{http::status::ok, 11};
            head.set(http::field::content_type, "text/event-stream");
            head.set(http::field::cache_control, "no-cache");
            head.set("X-Accel-Buffering", "no");  // proxies: pass each event on at once
            session->run_sse(std::move(head));
        });
    });
}

}  // namespace sqlrep
