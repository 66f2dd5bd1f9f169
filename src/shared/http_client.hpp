#pragma once
// A small blocking HTTP/1.1 client with keep-alive and a deadline per request. Used where
// a thread may block: replica write forwarding (on its forwarding pool), the tools and
// the tests. Not thread-safe: one HttpClient per thread. Never call it on an I/O thread.
// Speaks https too, with a client TLS context (make_client_tls): verifying the server
// when that context has a CA, presenting a client certificate when it has one.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "shared/byte_stream.hpp"
#include "shared/net.hpp"
#include "shared/url.hpp"

namespace sqlrep {

struct HttpResult {
    unsigned status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
};

// How a client reaches a node, beyond its URL.
struct ClientOptions {
    // For https: verifies the server when it has a CA, presents a client certificate when
    // it has one. Null: https is encrypted but the server is not verified (like curl -k).
    // Ignored for http.
    std::shared_ptr<ssl::context> tls;
    // Sent as "Authorization: Bearer <token>" with every request when not empty (for a
    // node started with --auth).
    std::string bearer_token;
};

class HttpClient {
  public:
    // `origin` is "http://host:port" or "https://host:port" (any target in it is ignored).
    explicit HttpClient(const std::string& origin, ClientOptions options = {});
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Sends one request and waits for the whole response. Reuses the connection when the
    // server keeps it alive; reconnects once if a reused connection was closed.
    // Throws Error(unavailable) when the server cannot be reached or drops the
    // connection, Error(timeout) when `timeout` passes first.
    HttpResult request(http::verb method, const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

    HttpResult get(const std::string& target,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return request(http::verb::get, target, "", {}, timeout);
    }
    HttpResult post(const std::string& target, const std::string& body,
                    const std::map<std::string, std::string>& headers = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return request(http::verb::post, target, body, headers, timeout);
    }

    // Whether the last request() may have reached the server: all of its bytes were
    // handed to the connection. False after a failure means the server certainly never
    // got the whole request (it could not connect, or the connection failed while
    // sending), so it did not act on it.
    bool request_sent() const { return request_sent_; }

    const Url& url() const { return url_; }
    // What this client uses, to reach other nodes the same way.
    const ClientOptions& options() const { return options_; }

  private:
    HttpResult attempt(const http::request<http::string_body>& req,
                       std::chrono::milliseconds timeout);
    void close();

    Url url_;
    ClientOptions options_;  // options_.tls is set for https (a default one when not given)
    net::io_context ioc_;
    std::unique_ptr<ByteStream> stream_;
    bool stale_connection_ = false;  // the last attempt hit a connection the server had closed
    bool request_sent_ = false;      // the last attempt wrote the whole request
};

}  // namespace sqlrep
