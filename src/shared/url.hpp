#pragma once
// Parsing of the node addresses users type: "http://host:port/path", "host:port" or
// "https://...". Pure functions, no I/O.

#include <cstdint>
#include <string>

namespace sqlrep {

struct Url {
    std::string scheme = "http";  // "http" or "https"
    std::string host;
    uint16_t port = 80;
    std::string target = "/";  // path plus query, never empty

    // "scheme://host:port" without the target, for messages and joining paths.
    std::string origin() const;
};

// Throws Error(bad_request) when the text is not a usable http(s) URL.
Url parse_url(const std::string& text);

}  // namespace sqlrep
