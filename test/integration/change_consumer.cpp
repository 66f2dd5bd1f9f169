#include "change_consumer.hpp"

#include <poll.h>

#include <functional>
#include <optional>
#include <stdexcept>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>

#include "shared/json_number.hpp"

namespace sqlrep::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {
// Reals read exactly (the harness's json::parse may be one ulp off).
json::object exact(const std::string& text) {
    boost::system::error_code ec;
    json::value v = sqlrep::parse_json_exact(text, ec);
    if (ec || !v.is_object())
        throw std::runtime_error("a change event is not a JSON object: " + text);
    return v.as_object();
}
}  // namespace

struct ChangeConsumer::Impl {
    net::io_context ioc;
    beast::tcp_stream tcp{ioc};
    std::optional<websocket::stream<beast::tcp_stream&>> ws;
    beast::flat_buffer buffer;
    // SSE: the response's parser (it takes the chunked framing off the body) and the body
    // bytes not yet split into lines.
    std::optional<http::response_parser<http::empty_body>> parser;
    std::function<std::size_t(std::uint64_t, boost::string_view, beast::error_code&)> on_body;
    std::string pending;
    bool closed = false;
};

ChangeConsumer::ChangeConsumer(Transport transport, uint16_t port, const std::string& target,
                               const std::map<std::string, std::string>& headers)
    : impl_(std::make_unique<Impl>()), transport_(transport) {
    impl_->tcp.expires_after(std::chrono::seconds(20));
    impl_->tcp.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    if (transport == Transport::websocket) {
        impl_->ws.emplace(impl_->tcp);
        impl_->ws->set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
            for (const auto& [k, v] : headers) req.set(k, v);
        }));
        websocket::response_type res;
        beast::error_code ec;
        impl_->ws->handshake(res, "127.0.0.1", target, ec);
        status_ = res.result_int();
        if (ec) {
            boost::system::error_code parse_ec;
            refusal_ = json::parse(res.body(), parse_ec);
        }
        return;
    }
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
    request += "Accept: text/event-stream\r\n\r\n";
    net::write(impl_->tcp, net::buffer(request));
    impl_->parser.emplace();
    auto& head = *impl_->parser;
    head.body_limit(boost::none);
    http::read_header(impl_->tcp, impl_->buffer, head);
    status_ = head.get().result_int();
    if (status_ != 200) {
        // A refusal is an ordinary response with a JSON body.
        http::response_parser<http::string_body> full(std::move(head));
        impl_->parser.reset();
        http::read(impl_->tcp, impl_->buffer, full);
        boost::system::error_code parse_ec;
        refusal_ = json::parse(full.get().body(), parse_ec);
        impl_->closed = true;
        return;
    }
    impl_->on_body = [this](std::uint64_t, boost::string_view body, beast::error_code&) {
        impl_->pending.append(body.data(), body.size());
        return body.size();
    };
    head.on_chunk_body(impl_->on_body);  // kept by reference: it lives in impl_
}

ChangeConsumer::~ChangeConsumer() {
    beast::error_code ignored;
    impl_->tcp.socket().close(ignored);
}

std::optional<json::object> ChangeConsumer::next(std::chrono::milliseconds timeout) {
    if (impl_->closed) return std::nullopt;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto arm = [&] {
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero())
            throw std::runtime_error("no change event within the timeout");
        impl_->tcp.expires_after(left);
    };
    if (transport_ == Transport::websocket) {
        while (true) {
            arm();
            beast::error_code ec;
            impl_->buffer.clear();
            impl_->ws->read(impl_->buffer, ec);
            if (ec == beast::error::timeout)
                throw std::runtime_error("no change event within the timeout");
            if (ec) {
                impl_->closed = true;
                return std::nullopt;
            }
            json::object event = exact(beast::buffers_to_string(impl_->buffer.data()));
            if (event.at("op") == "heartbeat") {
                ++heartbeats_;
                continue;
            }
            return event;
        }
    }
    // SSE, as the EventSource specification parses it: lines, fields, a blank line ends an
    // event; an id field sets the last event id even when the event has no data.
    std::string data;
    bool has_data = false;
    int64_t id = -1;  // the block's id field, -1 when it has none
    while (true) {
        auto eol = impl_->pending.find('\n');
        if (eol == std::string::npos) {
            auto& parser = *impl_->parser;
            if (parser.is_done()) {  // the node ended the body
                impl_->closed = true;
                return std::nullopt;
            }
            if (impl_->buffer.size() > 0) {
                beast::error_code ec;
                std::size_t used = parser.put(impl_->buffer.data(), ec);
                impl_->buffer.consume(used);
                if (ec && ec != http::error::need_more) {
                    impl_->closed = true;
                    return std::nullopt;
                }
                if (used > 0) continue;
            }
            // poll() rather than a stream deadline, which would close the connection: an
            // SSE consumer may wait through a quiet spell and go on reading.
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{impl_->tcp.socket().native_handle(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                throw std::runtime_error("no change event within the timeout");
            char buf[8192];
            beast::error_code ec;
            impl_->tcp.expires_never();
            std::size_t n = impl_->tcp.read_some(net::buffer(buf), ec);
            if (ec) {
                impl_->closed = true;
                return std::nullopt;
            }
            impl_->buffer.commit(net::buffer_copy(impl_->buffer.prepare(n), net::buffer(buf, n)));
            continue;
        }
        std::string line = impl_->pending.substr(0, eol);
        impl_->pending.erase(0, eol + 1);
        if (line.empty()) {
            if (id >= 0) last_event_id_ = id;
            id = -1;
            if (!has_data) continue;
            return exact(data);
        }
        if (line[0] == ':') {
            ++heartbeats_;
            continue;
        }
        if (line.rfind("data: ", 0) == 0) {
            if (has_data) data += '\n';
            data += line.substr(6);
            has_data = true;
        } else if (line.rfind("id: ", 0) == 0) {
            id = std::stoll(line.substr(4));
        }
    }
}

}  // namespace sqlrep::test
