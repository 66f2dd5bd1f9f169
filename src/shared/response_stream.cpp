#include "shared/response_stream.hpp"

#include <sstream>

#include <fmt/format.h>

namespace sqlrep {

std::shared_ptr<ResponseStream> ResponseStream::create(ByteStream stream, unsigned http_version) {
    return std::make_shared<ResponseStream>(std::move(stream), http_version);
}

ResponseStream::ResponseStream(ByteStream stream, unsigned http_version)
    : stream_(std::move(stream)), chunked_(http_version >= 11) {}

void ResponseStream::send_whole(HttpResponse res) {
    res.version(chunked_ ? 11 : 10);
    res.keep_alive(false);
    res.prepare_payload();
    std::ostringstream bytes;
    bytes << res;
    send(bytes.str(), [self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->close();
    });
}

void ResponseStream::start(HttpResponse head, Done done) {
    head.version(chunked_ ? 11 : 10);
    head.keep_alive(false);
    head.body().clear();
    head.erase(http::field::content_length);
    if (chunked_) head.chunked(true);
    std::ostringstream bytes;
    bytes << head.base();
    send(bytes.str(), std::move(done));
}

void ResponseStream::write(std::string data, Done done) {
    if (data.empty()) return done({});
    if (chunked_) data = fmt::format("{:x}\r\n", data.size()) + data + "\r\n";
    send(std::move(data), std::move(done));
}

void ResponseStream::finish() {
    send(chunked_ ? "0\r\n\r\n" : "", [self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->close();
    });
}

void ResponseStream::abort() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
        beast::error_code ignored;
        self->stream_.tcp().socket().close(ignored);
    });
}

// Every operation runs on the connection's executor, whichever thread the producer is on.
void ResponseStream::send(std::string bytes, Done done) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), bytes = std::move(bytes),
                                           done = std::move(done)]() mutable {
        self->out_ = std::move(bytes);
        self->stream_.tcp().expires_after(self->write_timeout_);
        net::async_write(self->stream_, net::buffer(self->out_),
                         [self, done = std::move(done)](beast::error_code ec, std::size_t) {
                             self->stream_.tcp().expires_never();
                             if (ec) {
                                 beast::error_code ignored;
                                 self->stream_.tcp().socket().close(ignored);
                             }
                             done(ec);
                         });
    });
}

// TLS close_notify or TCP shutdown(send), bounded; the stream ends with it.
void ResponseStream::close() {
    stream_.tcp().expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
}

}  // namespace sqlrep
