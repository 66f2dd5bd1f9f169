#include "shared/http_server.hpp"

#include <array>
#include <filesystem>

#include <spdlog/spdlog.h>

namespace sqlrep {

// What the listener and its sessions share, so sessions may outlive the listener.
struct ListenerState {
    std::atomic<std::size_t> open_sessions{0};    // every session
    std::atomic<std::size_t> client_sessions{0};  // those counted against max_connections
    std::atomic<std::size_t> on_probation{0};     // taken past the cap, not yet proven nodes
    // Set by stop(): kept-alive connections finish their current request and close, so a
    // graceful shutdown is not kept busy by clients (or replicas) that keep sending.
    std::atomic<bool> stopping{false};
};

namespace {

// Where a session stands against the connection cap.
enum class Standing {
    client,     // counted against max_connections (until it proves to be a node)
    probation,  // taken past the cap: its first request must prove it is a node
    node,       // showed the cluster token: never counted
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(tcp::socket&& socket, RequestHandler& handler, const HttpLimits& limits,
                std::shared_ptr<ListenerState> state, std::shared_ptr<ssl::context> tls,
                Standing standing)
        : stream_(tls ? ByteStream(beast::tcp_stream(std::move(socket)), *tls)
                      : ByteStream(beast::tcp_stream(std::move(socket)))),
          handler_(handler),
          limits_(limits),
          state_(std::move(state)),
          tls_(std::move(tls)),
          standing_(standing) {}

    ~HttpSession() {
        leave_standing();
        state_->open_sessions.fetch_sub(1);
    }

    void run() {
        net::dispatch(
            stream_.get_executor(),
            beast::bind_front_handler(tls_ ? &HttpSession::do_handshake : &HttpSession::do_read,
                                      shared_from_this()));
    }

  private:
    void do_handshake() {
        stream_.tcp().expires_after(kHandshakeTimeout);
        stream_.async_handshake(
            ssl::stream_base::server,
            beast::bind_front_handler(&HttpSession::on_handshake, shared_from_this()));
    }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            // A plain HTTP client, a scanner, or a peer whose certificate failed: nothing
            // to answer (we share no protocol). A refused certificate is worth a warning.
            beast::error_code ignored;
            auto peer = stream_.tcp().socket().remote_endpoint(ignored);
            std::string reason = stream_.describe(ec);
            if (reason.find("certificate") != std::string::npos)
                spdlog::warn("TLS handshake from {} refused: {}", peer.address().to_string(),
                             reason);
            else
                spdlog::debug("TLS handshake from {} failed: {}", peer.address().to_string(),
                              reason);
            stream_.tcp().close();
            return;
        }
        peer_.tls = true;
        peer_.verified_cert = stream_.peer_verified();
        do_read();
    }

    void do_read() {
        parser_.emplace();
        // No limit while the headers are read: Beast would refuse an announced length over
        // it before all the headers (and so the credentials) are in. on_header applies it.
        parser_->body_limit(boost::none);
        // Two deadlines, so a client can neither trickle its headers (slowloris) nor hold
        // an idle kept-alive connection open past the header timeout.
        // A connection on probation must show its credentials at once (a node sends its
        // request as soon as it connects): it cannot hold the room kept for nodes long.
        stream_.tcp().expires_after(
            standing_ == Standing::probation
                ? std::min<std::chrono::milliseconds>(limits_.header_timeout, kProbationTimeout)
                : limits_.header_timeout);
        http::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
    }

    // The body limit for the request being read: the handler may raise it for one route.
    std::size_t body_limit() const {
        return admission_.body_limit != 0 ? admission_.body_limit : limits_.max_body_bytes;
    }

    HttpResponse body_too_large() const {
        return error_response(ErrorKind::too_large, "the request body is larger than " +
                                                        std::to_string(body_limit()) + " bytes");
    }

    // The body file of a request that will not reach the handler.
    void drop_body_file() {
        if (admission_.body_file.empty()) return;
        std::error_code ignored;
        std::filesystem::remove(admission_.body_file, ignored);
        admission_.body_file.clear();
    }

    // Drops this session from the count it was in.
    void leave_standing() {
        if (standing_ == Standing::client) state_->client_sessions.fetch_sub(1);
        if (standing_ == Standing::probation) state_->on_probation.fetch_sub(1);
        standing_ = Standing::node;
    }

    void on_header(beast::error_code ec, std::size_t bytes) {
        if (!ec && standing_ != Standing::node) {
            // Node-to-node connections leave the client count as soon as they show it;
            // one taken past the cap that does not is closed unanswered, as before.
            if (handler_.is_node_request(parser_->get()))
                leave_standing();
            else if (standing_ == Standing::probation)
                return stream_.tcp().close();
        }
        if (!ec) {
            // Credentials are judged on the headers: a refused request's body is never read
            // (nor buffered), however large it says it is.
            admission_ = Admission{};
            const unsigned version = parser_->get().version();
            std::optional<HttpResponse> refusal =
                handler_.check_headers(parser_->get(), peer_, admission_);
            auto length = parser_->content_length();
            if (!refusal && length && *length > body_limit()) refusal = body_too_large();
            if (!refusal && !admission_.body_file.empty()) refusal = start_body_file();
            if (refusal) {
                drop_body_file();
                version_ = version;  // (the parser is gone when the file could not be made)
                refused_ = true;
                return send(std::move(*refusal), false);
            }
            if (file_parser_) {
                if (file_parser_->is_done()) return on_file_read({}, 0);
                // A database upload may take a while: ten body timeouts for it.
                stream_.tcp().expires_after(10 * limits_.body_timeout);
                return http::async_read(
                    stream_, buffer_, *file_parser_,
                    beast::bind_front_handler(&HttpSession::on_file_read, shared_from_this()));
            }
            parser_->body_limit(body_limit());  // a chunked body, as it comes
        }
        if (ec || parser_->is_done()) return on_read(ec, bytes);
        stream_.tcp().expires_after(limits_.body_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
    }

    // The body goes to the file check_headers named: the parser, its headers read, goes on
    // as one with a file body. A refusal if the file cannot be created.
    std::optional<HttpResponse> start_body_file() {
        file_parser_.emplace(std::move(*parser_));
        parser_.reset();
        beast::error_code ec;
        file_parser_->get().body().open(admission_.body_file.c_str(), beast::file_mode::write, ec);
        if (ec) {
            file_parser_.reset();
            return error_response(ErrorKind::internal, "cannot store the upload: " + ec.message());
        }
        file_parser_->body_limit(body_limit());
        return std::nullopt;
    }

    void on_file_read(beast::error_code ec, std::size_t bytes) {
        auto message = file_parser_->release();
        file_parser_.reset();
        message.body().close();
        if (ec) {
            drop_body_file();
            return on_read(ec, bytes);
        }
        // The handler gets the headers and owns the file from here.
        parser_.emplace();
        parser_->get().base() = std::move(message.base());
        on_read(ec, bytes);
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == net::error::operation_aborted || ec == net::error::connection_reset ||
            ec == ssl::error::stream_truncated)
            return do_close();
        if (ec == http::error::body_limit) return send(body_too_large(), false);
        if (ec)
            return send(
                error_response(ErrorKind::bad_request, "malformed HTTP request: " + ec.message()),
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
        if (handler_.takes_stream(req)) {
            stream_.tcp().expires_never();
            return handler_.take_stream(std::move(stream_), std::move(req), peer_, admission_);
        }

        // An answer made on this session's thread (a read run inline) is sent right away;
        // one from another thread (the writer, the read pool) is handed to the session's
        // context. A post here would cost every inline read a trip through the queue.
        auto self = shared_from_this();
        handler_.handle(std::move(req), peer_, admission_, [self](HttpResponse res) {
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
        if (refused_) return do_drain();
        if (!keep) return do_close();
        do_read();
    }

    // TLS: close_notify, bounded; plain: shutdown(send). The session ends with it.
    void do_close() {
        stream_.tcp().expires_after(kHandshakeTimeout);
        stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
    }

    // After a refusal sent before the body: stop sending, then read and discard what the
    // client still sends, for a short while. Closing with unread bytes would make the
    // kernel reset the connection, and a reset can destroy the refusal before the client
    // reads it (the "lingering close" of web servers). Nothing is kept.
    void do_drain() {
        beast::error_code ignored;
        stream_.tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.tcp().expires_after(kDrainTimeout);
        on_drain({}, 0);
    }

    void on_drain(beast::error_code ec, std::size_t) {
        if (ec) return;  // end of stream, timeout or reset: the session ends
        stream_.tcp().async_read_some(
            net::buffer(drain_buffer_),
            beast::bind_front_handler(&HttpSession::on_drain, shared_from_this()));
    }

    static constexpr std::chrono::seconds kHandshakeTimeout{10};
    static constexpr std::chrono::seconds kDrainTimeout{2};
    static constexpr std::chrono::seconds kProbationTimeout{2};

    ByteStream stream_;
    beast::flat_buffer buffer_;
    RequestHandler& handler_;
    HttpLimits limits_;
    std::shared_ptr<ListenerState> state_;
    std::shared_ptr<ssl::context> tls_;  // null: plain HTTP
    PeerInfo peer_;
    Admission admission_;  // check_headers' verdict on the request being read
    std::optional<http::request_parser<http::string_body>> parser_;
    // A body written to a file (Admission::body_file), after the headers were read.
    std::optional<http::request_parser<http::file_body>> file_parser_;
    std::optional<HttpResponse> response_;  // the one write in flight
    bool keep_alive_ = true;
    unsigned version_ = 11;
    Standing standing_;
    bool refused_ = false;  // answered from the headers: drain, then end
    std::array<char, 16 * 1024> drain_buffer_{};
};

}  // namespace

HttpListener::HttpListener(IoThreads& io, const tcp::endpoint& endpoint, RequestHandler& handler,
                           HttpLimits limits, std::shared_ptr<ssl::context> tls)
    : io_(io),
      acceptor_(io.main()),
      handler_(handler),
      limits_(limits),
      tls_(std::move(tls)),
      state_(std::make_shared<ListenerState>()) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        throw Error(ErrorKind::unavailable, "cannot listen on " + endpoint.address().to_string() +
                                                ":" + std::to_string(endpoint.port()) + ": " +
                                                ec.message());
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
    } else if (state_->client_sessions.load() >= limits_.max_connections &&
               state_->on_probation.load() >= HttpLimits::kNodeReserve) {
        // Over the limit, and the room kept for node connections is taken: drop the
        // connection at once rather than queue it.
        beast::error_code ignored;
        socket.close(ignored);
    } else {
        // Under the cap a connection counts as a client's until it shows the cluster
        // token; past it, it is on probation (see HttpLimits::max_connections).
        Standing standing = Standing::client;
        if (state_->client_sessions.load() >= limits_.max_connections) {
            standing = Standing::probation;
            state_->on_probation.fetch_add(1);
        } else {
            state_->client_sessions.fetch_add(1);
        }
        state_->open_sessions.fetch_add(1);
        // Responses and stream batches are latency-bound small writes: with Nagle, one
        // written while the previous is unacknowledged waits for the peer's delayed ACK
        // (up to 40 ms on Linux).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<HttpSession>(std::move(socket), handler_, limits_, state_, tls_, standing)
            ->run();
    }
    do_accept();
}

}  // namespace sqlrep
