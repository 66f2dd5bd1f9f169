#include "shared/byte_stream.hpp"

namespace sqlrep {
namespace {

// Calls `handler` with success, through its own executor (never inline).
void complete_now(const net::any_io_executor& executor, ByteStream::DoneHandler handler) {
    net::post(executor, net::append(std::move(handler), beast::error_code{}));
}

class PlainImpl final : public ByteStream::Impl {
  public:
    explicit PlainImpl(beast::tcp_stream tcp) : tcp_(std::move(tcp)) {}

    beast::tcp_stream& tcp() override { return tcp_; }
    SSL* tls_handle() override { return nullptr; }
    void read_some(BufferList<net::mutable_buffer> buffers,
                   ByteStream::IoHandler handler) override {
        tcp_.async_read_some(buffers, std::move(handler));
    }
    void write_some(BufferList<net::const_buffer> buffers, ByteStream::IoHandler handler) override {
        tcp_.async_write_some(buffers, std::move(handler));
    }
    void handshake(ssl::stream_base::handshake_type, ByteStream::DoneHandler handler) override {
        complete_now(tcp_.get_executor(), std::move(handler));
    }
    void shutdown(ByteStream::DoneHandler handler) override {
        beast::error_code ignored;
        tcp_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        complete_now(tcp_.get_executor(), std::move(handler));
    }
    void teardown(beast::role_type role, ByteStream::DoneHandler handler) override {
        beast::async_teardown(role, tcp_, std::move(handler));
    }

  private:
    beast::tcp_stream tcp_;
};

class TlsImpl final : public ByteStream::Impl {
  public:
    TlsImpl(beast::tcp_stream tcp, ssl::context& context) : tls_(std::move(tcp), context) {}

    beast::tcp_stream& tcp() override { return tls_.next_layer(); }
    SSL* tls_handle() override { return tls_.native_handle(); }
    void read_some(BufferList<net::mutable_buffer> buffers,
                   ByteStream::IoHandler handler) override {
        tls_.async_read_some(buffers, std::move(handler));
    }
    void write_some(BufferList<net::const_buffer> buffers, ByteStream::IoHandler handler) override {
        tls_.async_write_some(buffers, std::move(handler));
    }
    void handshake(ssl::stream_base::handshake_type type,
                   ByteStream::DoneHandler handler) override {
        tls_.async_handshake(type, std::move(handler));
    }
    void shutdown(ByteStream::DoneHandler handler) override {
        tls_.async_shutdown(std::move(handler));
    }
    void teardown(beast::role_type role, ByteStream::DoneHandler handler) override {
        // Beast's teardown for ssl_stream: the TLS close_notify.
        async_teardown(role, tls_, std::move(handler));
    }

  private:
    beast::ssl_stream<beast::tcp_stream> tls_;
};

}  // namespace

ByteStream::ByteStream(beast::tcp_stream tcp)
    : impl_(std::make_unique<PlainImpl>(std::move(tcp))) {}

ByteStream::ByteStream(beast::tcp_stream tcp, ssl::context& context)
    : impl_(std::make_unique<TlsImpl>(std::move(tcp), context)) {}

ByteStream::~ByteStream() = default;

void ByteStream::set_server_name(const std::string& host) {
    SSL* tls = impl_->tls_handle();
    if (!tls) return;
    beast::error_code ec;
    net::ip::make_address(host, ec);
    if (ec) {
        // A host name: SNI, and the certificate must name it (DNS SAN).
        SSL_set_tlsext_host_name(tls, host.c_str());
        SSL_set1_host(tls, host.c_str());
    } else {
        // An IP address: no SNI (RFC 6066); the certificate must hold it as an IP SAN.
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls), host.c_str());
    }
}

bool ByteStream::peer_verified() {
    SSL* tls = impl_->tls_handle();
    return tls && SSL_get0_peer_certificate(tls) != nullptr &&
           SSL_get_verify_result(tls) == X509_V_OK;
}

std::string ByteStream::describe(const beast::error_code& ec) {
    std::string text = ec.message();
    SSL* tls = impl_->tls_handle();
    if (!tls || ec.category() != net::error::get_ssl_category() ||
        (SSL_get_verify_mode(tls) & SSL_VERIFY_PEER) == 0)
        return text;
    long verify = SSL_get_verify_result(tls);
    if (verify != X509_V_OK) text += std::string(": ") + X509_verify_cert_error_string(verify);
    return text;
}

void beast_close_socket(ByteStream& stream) {
    beast::error_code ignored;
    stream.tcp().socket().close(ignored);
}

}  // namespace sqlrep
