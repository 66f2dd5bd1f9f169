#pragma once
// The shell's connection to one node: POST / with a JSON body and GET of the status
// endpoints (docs/API.md), over sqlrep's blocking HttpClient, with the client token and
// TLS options the user gave. Blocks; one thread only (the shell's).

#include <chrono>
#include <memory>
#include <string>

#include "shared/http_client.hpp"
#include "shared/json.hpp"

namespace sqlrep::shell {

// A node's answer: the HTTP status and the body, parsed (reals exactly) when it is JSON.
struct Answer {
    unsigned status = 0;
    std::string raw;
    json::value body;  // null when `raw` is not JSON

    bool ok() const;            // HTTP 200 and "ok": true
    std::string error() const;  // the node's "error", else what went wrong in words
};

class NodeConnection {
  public:
    NodeConnection(const std::string& url, ClientOptions options,
                   std::chrono::milliseconds timeout);
    NodeConnection(const NodeConnection&) = delete;
    NodeConnection& operator=(const NodeConnection&) = delete;

    // POST / with `body`. Throws sqlrep::Error (unavailable, timeout) when no answer
    // comes; an answer with an error status is returned.
    Answer post(const json::object& body);
    // {"command": "query", "query": sql}.
    Answer query(const std::string& sql);
    Answer get(const std::string& target);

    // "scheme://host:port".
    std::string origin() const { return client_.url().origin(); }
    const ClientOptions& options() const { return client_.options(); }
    std::chrono::milliseconds timeout() const { return timeout_; }

  private:
    HttpClient client_;
    std::chrono::milliseconds timeout_;
};

}  // namespace sqlrep::shell
