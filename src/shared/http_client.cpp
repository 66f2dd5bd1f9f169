#include "shared/http_client.hpp"

#include <optional>

#include "shared/error.hpp"

namespace sqlrep {

HttpClient::HttpClient(const std::string& origin) : url_(parse_url(origin)) {
    if (url_.scheme != "http")
        throw Error(ErrorKind::bad_request, "this build's client speaks plain http only");
}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
    if (!stream_) return;
    beast::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->socket().close(ignored);
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
    bool fresh = false;
    if (!stream_) {
        stream_ = std::make_unique<beast::tcp_stream>(ioc_);
        fresh = true;
    }
    stream_->expires_after(timeout);

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
        http::async_read(*stream_, buffer, *response, on_read);
    };
    auto send = [&] { http::async_write(*stream_, req, on_write); };

    if (fresh) {
        tcp::resolver resolver(ioc_);
        beast::error_code ec;
        auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
        if (ec) {
            close();
            throw Error(ErrorKind::unavailable, "cannot resolve " + url_.host + ": " + ec.message());
        }
        stream_->async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
            if (ec) {
                result_ec = ec;
                return;
            }
            // Requests are single small writes; Nagle would only delay them.
            beast::error_code ignored;
            stream_->socket().set_option(tcp::no_delay(true), ignored);
            send();
        });
    } else {
        send();
    }
    ioc_.run();

    if (result) return std::move(*result);
    close();
    stale_connection_ = !fresh && !response->got_some() &&
                        (result_ec == http::error::end_of_stream ||
                         result_ec == net::error::connection_reset ||
                         result_ec == net::error::broken_pipe);
    if (result_ec == beast::error::timeout)
        throw Error(ErrorKind::timeout, "no answer from " + url_.origin() + " within " +
                                            std::to_string(timeout.count()) + " ms");
    if (wrote && !stale_connection_)
        throw Error(ErrorKind::unavailable, "connection to " + url_.origin() +
                                                " failed after the request was sent (its outcome "
                                                "is unknown): " + result_ec.message());
    throw Error(ErrorKind::unavailable, "cannot reach " + url_.origin() + ": " + result_ec.message());
}

}  // namespace sqlrep
