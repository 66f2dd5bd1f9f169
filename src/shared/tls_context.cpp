#include "shared/tls_context.hpp"

#include <fstream>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

// OpenSSL's messages for a missing file are cryptic ("system lib"): check first.
void require_readable(const std::string& path, const char* flag) {
    if (!std::ifstream(path))
        throw Error(ErrorKind::bad_request,
                    std::string("cannot read ") + flag + " file '" + path + "'");
}

void load_identity(ssl::context& context, const TlsFiles& files) {
    require_readable(files.cert, "--tls-cert");
    require_readable(files.key, "--tls-key");
    beast::error_code ec;
    context.use_certificate_chain_file(files.cert, ec);
    if (ec)
        throw Error(ErrorKind::bad_request,
                    "--tls-cert '" + files.cert + "' is not a PEM certificate: " + ec.message());
    context.use_private_key_file(files.key, ssl::context::pem, ec);
    // OpenSSL already refuses a key that does not match the loaded certificate here.
    bool mismatch = ec ? ec.message().find("mismatch") != std::string::npos
                       : SSL_CTX_check_private_key(context.native_handle()) != 1;
    if (mismatch)
        throw Error(ErrorKind::bad_request, "--tls-key '" + files.key +
                                                "' does not match the certificate in "
                                                "--tls-cert '" +
                                                files.cert + "'");
    if (ec)
        throw Error(ErrorKind::bad_request,
                    "--tls-key '" + files.key + "' is not a PEM private key: " + ec.message());
}

void load_ca(ssl::context& context, const std::string& ca) {
    require_readable(ca, "--tls-ca");
    beast::error_code ec;
    context.load_verify_file(ca, ec);
    if (ec)
        throw Error(ErrorKind::bad_request,
                    "--tls-ca '" + ca + "' holds no PEM CA certificate: " + ec.message());
}

}  // namespace

void check_tls_files(const TlsFiles& files) {
    if (files.cert.empty() != files.key.empty())
        throw Error(ErrorKind::bad_request,
                    "--tls-cert and --tls-key go together: give both or neither");
    if (!files.ca.empty() && files.cert.empty())
        throw Error(ErrorKind::bad_request,
                    "--tls-ca needs --tls-cert and --tls-key: nodes that verify each other "
                    "present their own certificate");
}

std::shared_ptr<ssl::context> make_server_tls(const TlsFiles& files) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    load_identity(*context, files);
    if (!files.ca.empty()) {
        load_ca(*context, files.ca);
        // Ask for a client certificate but do not insist: ordinary clients (curl, the
        // tools) need none; node-to-node endpoints check PeerInfo::verified_cert.
        context->set_verify_mode(ssl::verify_peer);
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str()))
            SSL_CTX_set_client_CA_list(context->native_handle(), names);
        // With peer verification on, OpenSSL refuses to resume a session (TLS 1.3 ticket
        // or 1.2 session id) whose context is unset: a browser's second connection, which
        // resumes its first, failed its handshake (ERR_SSL_PROTOCOL_ERROR) now and then.
        static constexpr unsigned char kSessionContext[] = "sqlrep";
        SSL_CTX_set_session_id_context(context->native_handle(), kSessionContext,
                                       sizeof kSessionContext - 1);
    }
    return context;
}

std::shared_ptr<ssl::context> make_client_tls(const TlsFiles& files) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    if (!files.cert.empty()) load_identity(*context, files);
    if (!files.ca.empty()) {
        load_ca(*context, files.ca);
        context->set_verify_mode(ssl::verify_peer);
    } else {
        context->set_verify_mode(ssl::verify_none);
    }
    return context;
}

}  // namespace sqlrep
