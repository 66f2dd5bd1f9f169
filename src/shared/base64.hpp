#pragma once
// Standard base64 (RFC 4648, padded), over OpenSSL's EVP block coder: blobs in JSON
// ({"blob": "<base64>"}), HTTP Basic credentials, etcd's keys and values.

#include <string>

namespace sqlrep {

std::string base64_encode(const std::string& bytes);
// Throws Error(bad_request) unless `text` is padded base64 with '=' only at its end.
std::string base64_decode(const std::string& text);

}  // namespace sqlrep
