#pragma once
// The HTTP listener and its sessions, after Boost.Beast's advanced_server example: each
// accepted socket goes to one of the I/O threads' contexts (io_threads.hpp), where a
// session reads one request at a time (fresh parser, body limit, read deadline), hands it
// to a RequestHandler, and writes the response when the handler completes, possibly later
// and from another thread.
// WebSocket upgrades are offered to the handler, which then owns the connection.
// With a TLS context every connection starts with the TLS handshake (HTTPS and WSS on
// the same port; a plain HTTP client is dropped); the handler learns what the handshake
// proved about the peer (PeerInfo).

#include <atomic>
#include <memory>
#include <optional>

#include "shared/byte_stream.hpp"
#include "shared/http_types.hpp"
#include "shared/io_threads.hpp"
#include "shared/net.hpp"

namespace sqlrep {

// What the connection a request arrived on proved about its peer.
struct PeerInfo {
    bool tls = false;
    // The peer presented a client certificate that verified against our --tls-ca.
    bool verified_cert = false;
};

// What a handler's check_headers concluded about headers it let in. The session hands it
// back with the whole request to handle(), so each request's headers are judged once.
// Opaque to the session.
struct Admission {
    int grant = 0;  // the handler's verdict (NodeRouter: the sender's Role)
};

class RequestHandler {
  public:
    virtual ~RequestHandler() = default;

    // Runs on the session's thread. Must not block; completes through `respond`.
    // `admission` is what check_headers set for this request's headers.
    virtual void handle(HttpRequest req, PeerInfo peer, Admission admission, Respond respond) = 0;

    // Once a request's headers have arrived, before its body is read: a response refuses
    // it (credentials missing or wrong) without reading the body, and the connection then
    // closes; nullopt lets it go on, with `admission` set for handle(). Runs on the
    // session's thread; must not block.
    virtual std::optional<HttpResponse> check_headers(const HttpRequest& headers, PeerInfo,
                                                      Admission& admission) {
        (void)headers;
        (void)admission;
        return std::nullopt;
    }
    // Whether these headers prove node-to-node traffic (the cluster token). Such a
    // connection does not count against HttpLimits::max_connections.
    virtual bool is_node_request(const HttpRequest& headers) const {
        (void)headers;
        return false;
    }

    // For a WebSocket upgrade request: a response to refuse it with, or nullopt to accept.
    virtual std::optional<HttpResponse> check_upgrade(const HttpRequest&, PeerInfo) {
        return error_response(ErrorKind::not_found, "no WebSocket endpoint here");
    }
    // After check_upgrade accepted: the handler takes the connection over.
    virtual void take_upgrade(ByteStream, HttpRequest) {}

    // Streamed responses (a backup file, Server-Sent Events): for a request this says yes
    // to, the session hands its connection to take_stream() once the request has been
    // read, instead of calling handle(); the handler writes the whole response itself
    // (response_stream.hpp) and the connection ends with it. Runs on the session's thread.
    virtual bool takes_stream(const HttpRequest&) const { return false; }
    virtual void take_stream(ByteStream, HttpRequest, PeerInfo, Admission) {}
};

struct HttpLimits {
    std::size_t max_body_bytes = 8 * 1024 * 1024;
    std::chrono::milliseconds header_timeout{10000};  // headers, also while idle between requests
    std::chrono::milliseconds body_timeout{30000};    // the body, after its headers
    // Client connections at most. Node-to-node connections are not counted: past the cap
    // a new connection is still taken (up to kNodeReserve of them) but must show the
    // cluster token in its first request's headers, else it is closed unanswered.
    std::size_t max_connections = 1024;
    static constexpr std::size_t kNodeReserve = 256;
};

struct ListenerState;

class HttpListener : public std::enable_shared_from_this<HttpListener> {
  public:
    // Binds and listens at once (throws on failure), so the caller knows the port is ours.
    // `tls` null: plain HTTP; otherwise HTTPS with that context.
    // Accepts on io.main(); each session runs on the next of `io`'s contexts.
    HttpListener(IoThreads& io, const tcp::endpoint& endpoint, RequestHandler& handler,
                 HttpLimits limits, std::shared_ptr<ssl::context> tls = nullptr);
    void run();   // starts accepting
    void stop();  // stops accepting; sessions in flight finish
    uint16_t port() const { return acceptor_.local_endpoint().port(); }

  private:
    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);

    IoThreads& io_;
    tcp::acceptor acceptor_;
    RequestHandler& handler_;
    HttpLimits limits_;
    std::shared_ptr<ssl::context> tls_;
    std::shared_ptr<ListenerState> state_;  // shared with the sessions
};

}  // namespace sqlrep
