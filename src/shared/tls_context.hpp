#pragma once
// The TLS contexts of a node and of the tools, built from the files the user names
// (--tls-cert, --tls-key, --tls-ca). Built once at startup and shared read-only by every
// connection afterwards (OpenSSL allows concurrent use of a context that no longer
// changes). Throws Error(bad_request) with a message naming the file and the problem.
// See README.md, "TLS", for what each combination means.

#include <memory>
#include <string>

#include "shared/net.hpp"

namespace sqlrep {

struct TlsFiles {
    std::string cert;  // PEM certificate chain (the node's own)
    std::string key;   // PEM private key of `cert`
    std::string ca;    // PEM CA certificate(s) that peers must be signed by; "" for none

    bool enabled() const { return !cert.empty(); }
};

// Checks the combination: cert and key both or neither; ca only with them (a node that
// verifies its peers must present its own certificate to them).
void check_tls_files(const TlsFiles& files);

// Serves TLS with files.cert/key. With files.ca, asks every client for a certificate and
// verifies one that is presented (an invalid one fails the handshake); a client without
// one may still connect: the node-to-node endpoints refuse it later (PeerInfo).
std::shared_ptr<ssl::context> make_server_tls(const TlsFiles& files);

// For connections to a node. With files.ca the server's certificate must chain to it and
// name the host we connect to (ByteStream::set_server_name); without it the connection is
// encrypted but the server is not verified. files.cert/key, when set, are presented as
// the client certificate.
std::shared_ptr<ssl::context> make_client_tls(const TlsFiles& files);

}  // namespace sqlrep
