#include "shared/http_client.hpp"

#include <optional>

#include "shared/error.hpp"
#include "shared/tls_context.hpp"

namespace sqlrep {

HttpClient::HttpClient(const std::string& origin, ClientOptions options)
    : url_(parse_url(origin)), options_(std::move(options)) {
    if (url_.scheme != "https")
        options_.tls.reset();
    else if (!options_.tls)
        options_.tls = make_client_tls({});
}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
    if (!stream_) return;
    // No TLS close_notify: it would cost a round trip, and servers accept a plain close.
    beast::error_code ignored;
    stream_->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->tcp().socket().close(ignored);
    stream_.reset();
}

HttpResult HttpClient::request(http::verb method, const std::string& target,
                               const std::string& body,
                               const std::map<std::string, std::string>& headers,
                               std::chrono::milliseconds timeout) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, url_.host + ":" + std::to_string(url_.port));
    req.set(http::field::user_agent, "sqlrep");
    if (method == http::verb::post) req.set(http::field::content_type, "application/json");
    if (!options_.bearer_token.empty())
        req.set(http::field::authorization, "Bearer " + options_.bearer_token);
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();

    bool reused = stream_ != nullptr;
    try {
        return attempt(req, timeout);
    } catch (const Error&) {
        // A kept-alive connection the server closed meanwhile fails on first use with an
        // empty read; only that case is retried, on a fresh connection, because then the
        // server never saw the request.
        if (!reused || !stale_connection_) throw;
        return attempt(req, timeout);
    }
}

HttpResult HttpClient::attempt(const http::request<http::string_body>& req,
                               std::chrono::milliseconds timeout) {
    // The blocking API is built on async operations run on a private io_context, so the
    // deadline covers resolve, connect, write and read together.
    ioc_.restart();
    stale_connection_ = false;
    request_sent_ = false;
    bool fresh = false;
    if (!stream_) {
        stream_ = options_.tls
                      ? std::make_unique<ByteStream>(beast::tcp_stream(ioc_), *options_.tls)
                      : std::make_unique<ByteStream>(beast::tcp_stream(ioc_));
        stream_->set_server_name(url_.host);
        fresh = true;
    }
    stream_->tcp().expires_after(timeout);

    beast::error_code result_ec;
    std::optional<HttpResult> result;
    beast::flat_buffer buffer;
    auto response = std::make_shared<http::response_parser<http::string_body>>();
    response->body_limit(256 * 1024 * 1024);
    bool wrote = false;

    auto on_read = [&](beast::error_code ec, std::size_t) {
        if (ec) {
            result_ec = ec;
            return;
        }
        auto& msg = response->get();
        HttpResult r;
        r.status = msg.result_int();
        r.body = std::move(msg.body());
        for (const auto& field : msg) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(field.value());
        }
        if (!msg.keep_alive()) close();
        result = std::move(r);
    };
    auto on_write = [&](beast::error_code ec, std::size_t) {
        if (ec) {
            result_ec = ec;
            return;
        }
        wrote = true;
        request_sent_ = true;
        http::async_read(*stream_, buffer, *response, on_read);
    };
    auto send = [&] { http::async_write(*stream_, req, on_write); };
    bool handshake_failed = false;
    auto on_handshake = [&](beast::error_code ec) {
        if (ec) {
            result_ec = ec;
            handshake_failed = true;
            return;
        }
        send();
    };

    if (fresh) {
        tcp::resolver resolver(ioc_);
        beast::error_code ec;
        auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
        if (ec) {
            close();
            throw Error(ErrorKind::unavailable,
                        "cannot resolve " + url_.host + ": " + ec.message());
        }
        stream_->tcp().async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
            if (ec) {
                result_ec = ec;
                return;
            }
            // Requests are single small writes; Nagle would only delay them.
            beast::error_code ignored;
            stream_->tcp().socket().set_option(tcp::no_delay(true), ignored);
            stream_->async_handshake(ssl::stream_base::client, on_handshake);
        });
    } else {
        send();
    }
    ioc_.run();

    if (result) return std::move(*result);
    // A TLS alert after the request (TLS 1.3 reports a refused client certificate there)
    // still means the server never ran the request.
    bool tls_refused =
        result_ec.category() == net::error::get_ssl_category() && !response->got_some();
    std::string reason = stream_ ? stream_->describe(result_ec) : result_ec.message();
    close();
    stale_connection_ =
        !fresh && !response->got_some() &&
        (result_ec == http::error::end_of_stream || result_ec == net::error::connection_reset ||
         result_ec == net::error::broken_pipe || result_ec == ssl::error::stream_truncated);
    if (result_ec == beast::error::timeout)
        throw Error(ErrorKind::timeout, "no answer from " + url_.origin() + " within " +
                                            std::to_string(timeout.count()) + " ms");
    if (handshake_failed || (tls_refused && fresh))
        throw Error(ErrorKind::unavailable, "TLS with " + url_.origin() + " failed: " + reason);
    if (wrote && !stale_connection_)
        throw Error(ErrorKind::unavailable, "connection to " + url_.origin() +
                                                " failed after the request was sent (its outcome "
                                                "is unknown): " +
                                                reason);
    throw Error(ErrorKind::unavailable, "cannot reach " + url_.origin() + ": " + reason);
}

}  // namespace sqlrep
