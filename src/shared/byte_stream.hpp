#pragma once
// ByteStream: one connection's bytes, plain TCP or TLS over TCP, behind one concrete type.
//
// Why: Beast's HTTP and WebSocket operations are templates over the stream type and make
// up most of the compile time of the sessions. Templating every session on
// tcp_stream / ssl_stream<tcp_stream> would instantiate them twice. ByteStream is the one
// stream type they see; its read_some/write_some/handshake/teardown erase the completion
// handler (any_completion_handler) and call a virtual implementation, so the TLS and plain
// operations are instantiated once, in byte_stream.cpp. See docs/ARCHITECTURE.md.
//
// Cost: one small allocation per read_some/write_some for the erased handler, and at
// most kMaxBuffers buffers per call (a *_some operation may transfer less than asked).
//
// Thread contract: like any Asio stream, one operation of each kind in flight, started
// from the stream's executor. Not copyable; movable.

#include <array>
#include <memory>
#include <string>

#include "shared/net.hpp"

namespace sqlrep {

// Up to kMaxBuffers non-empty buffers of a buffer sequence, held by value, so a read or
// write can be handed through a virtual call without knowing Beast's sequence types.
template <class Buffer>
class BufferList {
  public:
    static constexpr std::size_t kMaxBuffers = 16;
    using value_type = Buffer;
    using const_iterator = const Buffer*;

    template <class Sequence>
    explicit BufferList(const Sequence& sequence) {
        auto end = net::buffer_sequence_end(sequence);
        for (auto it = net::buffer_sequence_begin(sequence); it != end && size_ < kMaxBuffers;
             ++it) {
            Buffer buffer(*it);
            if (buffer.size() != 0) buffers_[size_++] = buffer;
        }
    }
    const Buffer* begin() const { return buffers_.data(); }
    const Buffer* end() const { return buffers_.data() + size_; }

  private:
    std::array<Buffer, kMaxBuffers> buffers_{};
    std::size_t size_ = 0;
};

// A type-erased completion handler that keeps the original handler's executor (a
// session's context, a coroutine's executor) as an any_io_executor. Boost 1.81's own
// any_completion_executor cannot be posted to (it lacks blocking.never), which Beast's
// tcp_stream needs; hence this thin wrapper around any_completion_handler.
template <class Signature>
class ErasedHandler {
  public:
    using executor_type = net::any_io_executor;

    template <class Handler>
    ErasedHandler(Handler&& handler, const net::any_io_executor& fallback)
        : executor_(net::get_associated_executor(handler, fallback)),
          handler_(std::forward<Handler>(handler)) {}

    executor_type get_executor() const noexcept { return executor_; }

    template <class... Args>
    void operator()(Args&&... args) {
        std::move(handler_)(std::forward<Args>(args)...);
    }

  private:
    net::any_io_executor executor_;
    net::any_completion_handler<Signature> handler_;
};

class ByteStream {
  public:
    using executor_type = net::any_io_executor;
    using IoHandler = ErasedHandler<void(beast::error_code, std::size_t)>;
    using DoneHandler = ErasedHandler<void(beast::error_code)>;

    // The erased implementation (plain or TLS); defined in byte_stream.cpp.
    class Impl {
      public:
        virtual ~Impl() = default;
        virtual beast::tcp_stream& tcp() = 0;
        virtual SSL* tls_handle() = 0;  // null when plain
        virtual void read_some(BufferList<net::mutable_buffer> buffers, IoHandler handler) = 0;
        virtual void write_some(BufferList<net::const_buffer> buffers, IoHandler handler) = 0;
        virtual void handshake(ssl::stream_base::handshake_type type, DoneHandler handler) = 0;
        virtual void shutdown(DoneHandler handler) = 0;
        virtual void teardown(beast::role_type role, DoneHandler handler) = 0;
    };

    // A plain TCP connection.
    explicit ByteStream(beast::tcp_stream tcp);
    // TLS over `tcp` with `context` (which must outlive the stream); async_handshake next.
    ByteStream(beast::tcp_stream tcp, ssl::context& context);
    ByteStream(ByteStream&&) noexcept = default;
    ByteStream& operator=(ByteStream&&) noexcept = default;
    ~ByteStream();

    executor_type get_executor() { return impl_->tcp().get_executor(); }
    // The TCP layer: connect, deadlines (they also bound the TLS operations over it).
    beast::tcp_stream& tcp() { return impl_->tcp(); }
    bool is_tls() { return impl_->tls_handle() != nullptr; }

    // TLS client, before the handshake: the server's host name or IP address, sent as SNI
    // (names only) and checked against its certificate's SAN when the context verifies.
    void set_server_name(const std::string& host);

    // TLS server, after the handshake: the client presented a certificate and it verified
    // against the context's CA.
    bool peer_verified();

    // `ec`'s message, plus OpenSSL's certificate verification result when that failed
    // ("certificate verify failed: IP address mismatch").
    std::string describe(const beast::error_code& ec);

    // TLS handshake; completes at once, successfully, on a plain stream.
    template <class Token>
    auto async_handshake(ssl::stream_base::handshake_type type, Token&& token) {
        return net::async_initiate<Token, void(beast::error_code)>(
            [](auto handler, Impl* impl, ssl::stream_base::handshake_type type) {
                impl->handshake(type, DoneHandler(std::move(handler), impl->tcp().get_executor()));
            },
            token, impl_.get(), type);
    }

    // TLS close_notify (bounded by the TCP deadline); TCP shutdown(send) when plain.
    template <class Token>
    auto async_shutdown(Token&& token) {
        return net::async_initiate<Token, void(beast::error_code)>(
            [](auto handler, Impl* impl) {
                impl->shutdown(DoneHandler(std::move(handler), impl->tcp().get_executor()));
            },
            token, impl_.get());
    }

    // AsyncReadStream / AsyncWriteStream.
    template <class MutableBufferSequence, class Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
        return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
            [](auto handler, Impl* impl, BufferList<net::mutable_buffer> list) {
                impl->read_some(list, IoHandler(std::move(handler), impl->tcp().get_executor()));
            },
            token, impl_.get(), BufferList<net::mutable_buffer>(buffers));
    }
    template <class ConstBufferSequence, class Token>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
        return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
            [](auto handler, Impl* impl, BufferList<net::const_buffer> list) {
                impl->write_some(list, IoHandler(std::move(handler), impl->tcp().get_executor()));
            },
            token, impl_.get(), BufferList<net::const_buffer>(buffers));
    }

    // Beast's customization points, found by argument-dependent lookup: the WebSocket
    // timeout closes the socket; a WebSocket close ends with the TLS close_notify.
    friend void beast_close_socket(ByteStream& stream);
    template <class TeardownHandler>
    friend void async_teardown(beast::role_type role, ByteStream& stream,
                               TeardownHandler&& handler) {
        stream.impl_->teardown(
            role, DoneHandler(std::forward<TeardownHandler>(handler), stream.get_executor()));
    }

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace sqlrep
