#pragma once
// Building the bodies of POST / (docs/API.md) and reading a node's answer to them.
// send_sql blocks on the given client; it is as thread-safe as that client (one per thread).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "shared/http_client.hpp"
#include "shared/net.hpp"

namespace sqlrep::send_dummy {

// {"command":"exec","query":sql[,"params":...][,"ack":...]}; empty `ack` leaves the node's
// default.
json::object exec_body(const std::string& sql, const std::optional<json::value>& params = {},
                       const std::string& ack = {});

// {"command":"query","query":sql[,"params":...][,"min_index":...]}.
json::object query_body(const std::string& sql, const std::optional<json::value>& params = {},
                        std::optional<int64_t> min_index = {});

// A node's answer: the HTTP status and the body, parsed when it is JSON.
struct SqlAnswer {
    unsigned status = 0;
    std::string raw;
    json::value body;  // null when `raw` is not JSON

    bool ok() const;            // HTTP 200 and "ok": true
    std::string error() const;  // the node's "error", or a description of what went wrong
    int64_t index() const;      // "index", or -1
};

// Posts `body` to "/" and waits at most `timeout`. Throws sqlrep::Error (unavailable,
// timeout) when no answer comes; an answer with an error status is returned, not thrown.
SqlAnswer send_sql(HttpClient& client, const json::object& body, std::chrono::milliseconds timeout);

}  // namespace sqlrep::send_dummy
