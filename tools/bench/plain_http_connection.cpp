#include "plain_http_connection.hpp"

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "shared/error.hpp"

namespace sqlrep::bench {

namespace {

[[noreturn]] void fail_io(const Url& url, const char* what) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        throw Error(ErrorKind::timeout,
                    std::string("no answer from ") + url.origin() + " (" + what + " timed out)");
    throw Error(ErrorKind::unavailable,
                url.origin() + ": " + what + " failed: " + std::strerror(errno));
}

}  // namespace

PlainHttpConnection::PlainHttpConnection(Url url, std::string bearer_token,
                                         std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {
    fixed_headers_ =
        "Host: " + url_.host + ":" + std::to_string(url_.port) + "\r\nUser-Agent: sqlrep-bench\r\n";
    if (!bearer_token.empty()) fixed_headers_ += "Authorization: Bearer " + bearer_token + "\r\n";
}

PlainHttpConnection::~PlainHttpConnection() { close(); }

void PlainHttpConnection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
}

void PlainHttpConnection::connect() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc =
            ::getaddrinfo(url_.host.c_str(), std::to_string(url_.port).c_str(), &hints, &found);
        rc != 0)
        throw Error(ErrorKind::unavailable,
                    "cannot resolve " + url_.host + ": " + ::gai_strerror(rc));
    int saved_errno = ECONNREFUSED;
    for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
        fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd_ < 0) continue;
        if (::connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
            saved_errno = errno;
            ::close(fd_);
            fd_ = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd_ < 0) {
        errno = saved_errno;
        fail_io(url_, "connect");
    }
    // Requests are single small writes; Nagle would only delay them.
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout_).count();
    timeval limit{static_cast<time_t>(micros / 1000000),
                  static_cast<suseconds_t>(micros % 1000000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
}

HttpResult PlainHttpConnection::request(const Request& request) {
    std::string bytes;
    bytes.reserve(128 + fixed_headers_.size() + request.body.size());
    bytes.append(http::to_string(request.method)).append(" ").append(request.target);
    bytes.append(" HTTP/1.1\r\n").append(fixed_headers_);
    if (request.method == http::verb::post)  // as HttpClient: JSON bodies are POSTed
        bytes.append("Content-Type: application/json\r\n");
    bytes.append("Content-Length: ").append(std::to_string(request.body.size()));
    bytes.append("\r\n\r\n").append(request.body);

    const bool reused = fd_ >= 0;
    if (!reused) connect();
    bool answered = false;
    try {
        return exchange(bytes, answered);
    } catch (const Error& e) {
        close();
        // The server closed a kept-alive connection before reading this request: it never
        // ran it, so it is safe to send again on a new connection. (A timeout is not that.)
        if (!reused || answered || e.kind() == ErrorKind::timeout) throw;
    }
    connect();
    try {
        return exchange(bytes, answered);
    } catch (const Error&) {
        close();
        throw;
    }
}

HttpResult PlainHttpConnection::exchange(const std::string& bytes, bool& answered) {
    for (std::size_t sent = 0; sent < bytes.size();) {
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_io(url_, "send");
        }
        sent += static_cast<std::size_t>(n);
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    parser.eager(true);
    for (;;) {
        beast::error_code ec;
        if (buffer_.size() > 0) {
            buffer_.consume(parser.put(buffer_.data(), ec));
            if (parser.is_done()) break;
            if (ec && ec != http::error::need_more)
                throw Error(ErrorKind::unavailable,
                            url_.origin() + " sent a malformed answer: " + ec.message());
        }
        auto space = buffer_.prepare(64 * 1024);
        ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_io(url_, "recv");
        }
        if (n == 0) {
            if (answered && parser.need_eof()) {  // an answer that ends with the connection
                parser.put_eof(ec);
                if (!ec) break;
            }
            throw Error(ErrorKind::unavailable,
                        url_.origin() + " closed the connection" + (answered ? " mid-answer" : ""));
        }
        answered = true;
        buffer_.commit(static_cast<std::size_t>(n));
    }
    auto& message = parser.get();
    HttpResult result;
    result.status = message.result_int();
    result.body = std::move(message.body());
    if (!message.keep_alive() || parser.need_eof()) close();
    return result;
}

}  // namespace sqlrep::bench
