#pragma once
// WebhookReceiver: a small HTTP server standing in for a webhook's receiving end in the
// change sink tests. It listens on 127.0.0.1:<port> (an address that may be reused, so a
// test can take a receiver down and bring another up on the same port), records the body
// of every POST it answers 200, and answers 503 while set_failing(true).
//
// Beast on an io_context of its own, run by one thread; the destructor stops and joins it
// and closes every connection, also when a test fails. Header-only, like etcd_server.hpp.
//
// Thread contract: construct, configure and destroy on the test's main thread; the
// accessors are thread-safe.

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sqlrep::test {

class WebhookReceiver {
  public:
    explicit WebhookReceiver(uint16_t port) : port_(port), acceptor_(ioc_) {
        namespace net = boost::asio;
        net::ip::tcp::endpoint at(net::ip::make_address("127.0.0.1"), port);
        acceptor_.open(at.protocol());
        acceptor_.set_option(net::socket_base::reuse_address(true));
        acceptor_.bind(at);
        acceptor_.listen();
        do_accept();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~WebhookReceiver() {
        ioc_.stop();
        if (thread_.joinable()) thread_.join();
    }
    WebhookReceiver(const WebhookReceiver&) = delete;
    WebhookReceiver& operator=(const WebhookReceiver&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
    void set_failing(bool failing) { failing_ = failing; }
    // Requests answered 503 so far.
    int refused() const { return refused_.load(); }

    // Every body answered 200, parsed, in arrival order.
    std::vector<boost::json::value> bodies() const {
        std::lock_guard lock(mutex_);
        return bodies_;
    }

  private:
    struct Session : std::enable_shared_from_this<Session> {
        Session(WebhookReceiver& owner, boost::asio::ip::tcp::socket socket)
            : owner(owner), socket(std::move(socket)) {}
        void do_read() {
            request = {};
            boost::beast::http::async_read(
                socket, buffer, request,
                [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                    if (!ec) self->on_read();
                });
        }
        void on_read() {
            namespace http = boost::beast::http;
            bool fail = owner.failing_.load() || request.method() != http::verb::post;
            response = {};
            response.version(request.version());
            response.keep_alive(request.keep_alive());
            response.set(http::field::content_type, "application/json");
            if (fail) {
                ++owner.refused_;
                response.result(http::status::service_unavailable);
                response.body() = R"({"ok":false})";
            } else {
                boost::json::value body;
                try {
                    body = boost::json::parse(request.body());
                } catch (const std::exception&) {
                    body = boost::json::string(request.body());
                }
                {
                    std::lock_guard lock(owner.mutex_);
                    owner.bodies_.push_back(std::move(body));
                }
                response.result(http::status::ok);
                response.body() = R"({"ok":true})";
            }
            response.prepare_payload();
            http::async_write(
                socket, response,
                [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                    if (!ec && self->response.keep_alive()) self->do_read();
                });
        }

        WebhookReceiver& owner;
        boost::asio::ip::tcp::socket socket;
        boost::beast::flat_buffer buffer;
        boost::beast::http::request<boost::beast::http::string_body> request;
        boost::beast::http::response<boost::beast::http::string_body> response;
    };

    void do_accept() {
        acceptor_.async_accept(
            [this](boost::beast::error_code ec, boost::asio::ip::tcp::socket socket) {
                if (ec) return;
                std::make_shared<Session>(*this, std::move(socket))->do_read();
                do_accept();
            });
    }

    const uint16_t port_;
    boost::asio::io_context ioc_;  // first: outlives the acceptor and the sessions
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> failing_{false};
    std::atomic<int> refused_{0};
    mutable std::mutex mutex_;
    std::vector<boost::json::value> bodies_;  // guarded by mutex_
};

}  // namespace sqlrep::test
