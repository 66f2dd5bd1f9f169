#include "shared/http_server.hpp"

#include <spdlog/spdlog.h>

namespace sqlrep {

// What the listener and its sessions share, so sessions may outlive the listener.
struct ListenerState {
    std::atomic<std::size_t> open_sessions{0};
    // Set by stop(): kept-alive connections finish their current request and close, so a
    // graceful shutdown is not kept busy by clients (or replicas) that keep sending.
    std::atomic<bool> stopping{false};
};

namespace {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket&& socket, RequestHandler& handler, const HttpLimits& limits,
                std::shared_ptr<ListenerState> state, std::shared_ptr<ssl::context> tls)
        : stream_(tls ? ByteStream(beast::tcp_stream(std::move(socket)), *tls)
                      : ByteStream(beast::tcp_stream(std::move(socket)))),
          handler_(handler),
          limits_(limits),
          state_(std::move(state)),
          tls_(std::move(tls)) {}

    ~HttpSession() { state_->open_sessions.fetch_sub(1); }

    void run() {
        net::dispatch(stream_.get_executor(),
                      beast::bind_front_handler(tls_ ? &HttpSession::do_handshake
                                                     : &HttpSession::do_read,
                                                shared_from_this()));
    }

private:
    void do_handshake() {
        stream_.tcp().expires_after(kHandshakeTimeout);
        stream_.async_handshake(ssl::stream_base::server,
                                beast::bind_front_handler(&HttpSession::on_handshake,
                                                          shared_from_this()));
    }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            // A plain HTTP client, a scanner, or a peer whose certificate failed: nothing
            // to answer (we share no protocol). A refused certificate is worth a warning.
            beast::error_code ignored;
            auto peer = stream_.tcp().socket().remote_endpoint(ignored);
            std::string reason = stream_.describe(ec);
            if (reason.find("certificate") != std::string::npos)
                spdlog::warn("TLS handshake from {} refused: {}", peer.address().to_string(), reason);
            else
                spdlog::debug("TLS handshake from {} failed: {}", peer.address().to_string(), reason);
            stream_.tcp().close();
            return;
        }
        peer_.tls = true;
        peer_.verified_cert = stream_.peer_verified();
        do_read();
    }

    void do_read() {
        parser_.emplace();
        parser_->body_limit(limits_.max_body_bytes);
        // Two deadlines, so a client can neither trickle its headers (slowloris) nor hold
        // an idle kept-alive connection open past the header timeout.
        stream_.tcp().expires_after(limits_.header_timeout);
        http::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t bytes) {
        if (ec || parser_->is_done()) return on_read(ec, bytes);
        stream_.tcp().expires_after(limits_.body_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == net::error::operation_aborted || ec == net::error::connection_reset ||
            ec == ssl::error::stream_truncated)
            return do_close();
        if (ec == http::error::body_limit)
            return send(error_response(ErrorKind::too_large,
                                       "the request body is larger than " +
                                           std::to_string(limits_.max_body_bytes) + " bytes"),
                        false);
        if (ec)
            return send(error_response(ErrorKind::bad_request,
                                       "malformed HTTP request: " + ec.message()),
                        false);

        HttpRequest req = parser_->release();
        keep_alive_ = req.keep_alive() && !state_->stopping.load();
        version_ = req.version();
        if (websocket::is_upgrade(req)) {
            if (auto refusal = handler_.check_upgrade(req, peer_))
                return send(std::move(*refusal), false);
            stream_.tcp().expires_never();
            return handler_.take_upgrade(std::move(stream_), std::move(req));
        }

        // An answer made on this session's thread (a read run inline) is sent right away;
        // one from another thread (the writer, the read pool) is handed to the session's
        // context. A post here would cost every inline read a trip through the queue.
        auto self = shared_from_this();
        handler_.handle(std::move(req), peer_, [self](HttpResponse res) {
            net::dispatch(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
                self->send(std::move(res), self->keep_alive_);
            });
        });
    }

    void send(HttpResponse res, bool keep_alive) {
        res.version(version_);
        res.keep_alive(keep_alive && !state_->stopping.load());
        res.prepare_payload();
        response_ = std::move(res);
        stream_.tcp().expires_after(limits_.body_timeout);
        http::async_write(stream_, *response_,
                          beast::bind_front_handler(&HttpSession::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec) return do_close();
        bool keep = response_->keep_alive();
        response_.reset();
        if (!keep) return do_close();
        do_read();
    }

    // TLS: close_notify, bounded; plain: shutdown(send). The session ends with it.
    void do_close() {
        stream_.tcp().expires_after(kHandshakeTimeout);
        stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
    }

    static constexpr std::chrono::seconds kHandshakeTimeout{10};

    ByteStream stream_;
    beast::flat_buffer buffer_;
    RequestHandler& handler_;
    HttpLimits limits_;
    std::shared_ptr<ListenerState> state_;
    std::shared_ptr<ssl::context> tls_;  // null: plain HTTP
    PeerInfo peer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<HttpResponse> response_;  // the one write in flight
    bool keep_alive_ = true;
    unsigned version_ = 11;
};

}  // namespace

HttpListener::HttpListener(IoThreads& io, const tcp::endpoint& endpoint,
                           RequestHandler& handler, HttpLimits limits,
                           std::shared_ptr<ssl::context> tls)
    : io_(io),
      acceptor_(io.main()),
      handler_(handler),
      limits_(limits),
      tls_(std::move(tls)),
      state_(std::make_shared<ListenerState>()) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
}

void HttpListener::run() { do_accept(); }

void HttpListener::stop() {
    state_->stopping = true;
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
        beast::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

void HttpListener::do_accept() {
    // No strand: the context has one thread, which serialises the session's handlers.
    acceptor_.async_accept(io_.session_context(),
                           beast::bind_front_handler(&HttpListener::on_accept, shared_from_this()));
}

void HttpListener::on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // stopped
    if (ec) {
        spdlog::warn("accept failed: {}", ec.message());
    } else if (state_->open_sessions.load() >= limits_.max_connections) {
        // Over the limit: drop the connection at once rather than queue it.
        beast::error_code ignored;
        socket.close(ignored);
    } else {
        state_->open_sessions.fetch_add(1);
        // Responses and stream batches are latency-bound small writes: with Nagle, one
        // written while the previous is unacknowledged waits for the peer's delayed ACK
        // (up to 40 ms on Linux).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<HttpSession>(std::move(socket), handler_, limits_, state_, tls_)->run();
    }
    do_accept();
}

}  // namespace sqlrep
