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
                                std::chrono::milliseconds(config.changes_heartbeat_ms)},
               config.data_dir} {}

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
    if (!websocket::is_upgrade(req)) return take_sse(std::move(stream), std::move(req));
    try {
        auto [request, slot] = admit(req);
        auto session = std::make_shared<ChangeFeedSession>(
            std::move(stream), ChangeFeedSession::Transport::websocket, std::move(request),
            context_, std::move(slot));
        session->run_websocket(std::move(req));
    } catch (const std::exception& e) {
        // Lost the race for the last slot since check_upgrade: the stream just closes.
        spdlog::info("change feed upgrade refused: {}", e.what());
    }
}

namespace {

// A refusal written on a connection taken over, which then closes.
void refuse_on(std::shared_ptr<ByteStream> stream, HttpResponse res, unsigned version) {
    res.version(version);
    res.keep_alive(false);
    res.prepare_payload();
    auto response = std::make_shared<HttpResponse>(std::move(res));
    stream->tcp().expires_after(std::chrono::seconds(10));
    http::async_write(*stream, *response, [stream, response](beast::error_code, std::size_t) {
        stream->async_shutdown([stream](beast::error_code) {});
    });
}

}  // namespace

void ChangeFeedEndpoint::take_sse(ByteStream stream, HttpRequest req) {
    auto shared = std::make_shared<ByteStream>(std::move(stream));
    const unsigned version = req.version();
    std::optional<std::pair<ChangeFeedRequest, ChangeFeedSlot>> admitted;
    try {
        admitted.emplace(admit(req));
    } catch (const Error& e) {
        // Lost the race for the last slot since check_upgrade.
        return refuse_on(shared, error_response(e), version);
    }
    auto held =
        std::make_shared<std::pair<ChangeFeedRequest, ChangeFeedSlot>>(std::move(*admitted));
    check_first_index(held->first, [this, shared, held, version](std::optional<HttpResponse> no) {
        net::post(shared->get_executor(), [this, shared, held, version, no = std::move(no)] {
            if (no) return refuse_on(shared, std::move(*no), version);
            start_sse(std::move(*shared), std::move(held->first), std::move(held->second),
                      sse_head(version));
        });
    });
}

void ChangeFeedEndpoint::start_sse(ByteStream stream, ChangeFeedRequest request,
                                   ChangeFeedSlot slot, std::string head) {
    auto session =
        std::make_shared<ChangeFeedSession>(std::move(stream), ChangeFeedSession::Transport::sse,
                                            std::move(request), context_, std::move(slot));
    session->run_sse(std::move(head));
}

std::string ChangeFeedEndpoint::sse_head(unsigned version) {
    // No length and no chunking: the body is the events until the connection closes.
    return std::string(version == 10 ? "HTTP/1.0" : "HTTP/1.1") +
           " 200 OK\r\n"
           "Content-Type: text/event-stream\r\n"
           "Cache-Control: no-cache\r\n"
           "X-Accel-Buffering: no\r\n"
           "Connection: close\r\n"
           "\r\n";
}

}  // namespace sqlrep
