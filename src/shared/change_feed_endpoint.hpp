#pragma once
// GET /changes, the change feed's HTTP edge: checks a consumer's parameters, its place
// among the node's consumers (503 past --changes-max-consumers) and the index it asks for
// (410 when the log no longer holds it), then hands the connection to a ChangeFeedSession,
// as Server-Sent Events or, for a WebSocket upgrade, as WebSocket messages. The router
// (node_router) judges credentials first: any client role may read the feed.
//
// check_upgrade/take_upgrade and serve_sse run on the request's session thread and do not
// block; the first-index check runs on the ReadPool.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shared/byte_stream.hpp"
#include "shared/change_feed.hpp"
#include "shared/http_types.hpp"
#include "shared/index_watch.hpp"
#include "shared/node_config.hpp"
#include "shared/read_pool.hpp"
#include "shared/response_stream.hpp"

namespace sqlrep {

class ChangeFeedEndpoint {
  public:
    ChangeFeedEndpoint(const NodeConfig& config, ReadPool& reads, IndexWatch& applied);
    ChangeFeedEndpoint(const ChangeFeedEndpoint&) = delete;
    ChangeFeedEndpoint& operator=(const ChangeFeedEndpoint&) = delete;

    static bool serves(std::string_view path) { return path == "/changes"; }

    // For a WebSocket upgrade to /changes: a refusal (400, 503), or nullopt to accept.
    std::optional<HttpResponse> check_upgrade(const HttpRequest& req);
    // After check_upgrade accepted.
    void take_upgrade(ByteStream stream, HttpRequest req);
    // A plain GET /changes, on a connection the router took over (response_stream.hpp):
    // 410 when the log no longer holds `from`, else the Server-Sent Events. Throws
    // Error(bad_request / method_not_allowed / unavailable) before anything is sent.
    void serve_sse(std::shared_ptr<ResponseStream> response, HttpRequest req);

    // Consumers now.
    std::size_t consumers() const { return consumers_->load(); }

  private:
    // Parses the request and takes a slot (throws Error(bad_request / unavailable)).
    std::pair<ChangeFeedRequest, ChangeFeedSlot> admit(const HttpRequest& req);
    // Checks that the log still holds `request.from` (on the ReadPool), then calls
    // `go(nullopt)`, or `go(410 response)`. `go` runs on a pool thread.
    void check_first_index(const ChangeFeedRequest& request,
                           std::function<void(std::optional<HttpResponse>)> go);

    ChangeFeedContext context_;
    std::shared_ptr<std::atomic<std::size_t>> consumers_ =
        std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace sqlrep
