// ResponseStream through a real HttpListener: a handler that takes the connection over
// streams a chunked body a plain HTTP client reads whole, a refusal goes out as one
// ordinary response, and a client that stops reading ends the stream with an error for
// the producer instead of holding it.

#include <atomic>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "shared/http_server.hpp"
#include "shared/response_stream.hpp"

using namespace sqlrep;

namespace {

// GET /stream?pieces=N streams N pieces of `piece`; GET /refuse answers 403 whole; GET
// /flood writes until a write fails and reports the error.
class StreamingHandler : public RequestHandler {
  public:
    std::string piece = std::string(1000, 'x');
    std::promise<beast::error_code> flood_ended;

    void handle(HttpRequest, PeerInfo, Admission, Respond respond) override {
        respond(json_response(200, json::object{{"ok", true}}));
    }
    bool takes_stream(const HttpRequest& req) const override { return req.target() != "/whole"; }
    void take_stream(ByteStream stream, HttpRequest req, PeerInfo, Admission) override {
        auto out = ResponseStream::create(std::move(stream), req.version());
        if (req.target() == "/refuse")
            return out->send_whole(error_response(ErrorKind::forbidden, "not for you"));
        HttpResponse head(http::status::ok, 11);
        head.set(http::field::content_type, "text/plain");
        if (req.target() == "/flood") {
            out->set_write_timeout(std::chrono::milliseconds(300));
            return out->start(std::move(head), [this, out](beast::error_code) { flood(out); });
        }
        out->start(std::move(head), [this, out](beast::error_code) { pump(out, 5); });
    }

  private:
    void pump(const std::shared_ptr<ResponseStream>& out, int left) {
        if (left == 0) return out->finish();
        out->write(piece, [this, out, left](beast::error_code ec) {
            if (!ec) pump(out, left - 1);
        });
    }
    void flood(const std::shared_ptr<ResponseStream>& out) {
        out->write(std::string(1 << 20, 'f'), [this, out](beast::error_code ec) {
            if (ec) return flood_ended.set_value(ec);
            flood(out);
        });
    }
};

struct Server {
    IoThreads io{2};
    StreamingHandler handler;
    std::shared_ptr<HttpListener> listener;
    std::thread thread;

    Server() {
        listener = std::make_shared<HttpListener>(
            io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), handler, HttpLimits{});
        listener->run();
        thread = std::thread([this] { io.run(); });
    }
    ~Server() {
        listener->stop();
        io.main().stop();
        thread.join();
    }
};

HttpResponse get(uint16_t port, const std::string& target) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    HttpRequest req(http::verb::get, target, 11);
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buffer;
    HttpResponse res;
    http::read(stream, buffer, res);
    return res;
}

}  // namespace

TEST_CASE("a streamed response arrives whole, chunked, and then the connection closes",
          "[shared][http]") {
    Server server;
    HttpResponse res = get(server.listener->port(), "/stream");
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::transfer_encoding] == "chunked");
    CHECK(res.body() == std::string(5000, 'x'));
    CHECK_FALSE(res.keep_alive());

    HttpResponse refused = get(server.listener->port(), "/refuse");
    CHECK(refused.result_int() == 403);
    CHECK(refused.body().find("not for you") != std::string::npos);

    // Requests the handler does not stream still get ordinary answers.
    CHECK(get(server.listener->port(), "/whole").result_int() == 200);
}

TEST_CASE("a client that stops reading ends the stream with an error for the producer",
          "[shared][http]") {
    Server server;
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.listener->port()));
    net::write(socket, net::buffer(std::string("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")));
    // Never read: the kernel buffers fill, a write stalls past its timeout and fails.
    auto ended = server.handler.flood_ended.get_future();
    REQUIRE(ended.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    CHECK(ended.get());
}
