#include "shared/url.hpp"

#include <charconv>

#include "shared/error.hpp"

namespace sqlrep {

std::string Url::origin() const { return scheme + "://" + host + ":" + std::to_string(port); }

Url parse_url(const std::string& text) {
    Url url;
    std::string rest = text;
    if (auto pos = rest.find("://"); pos != std::string::npos) {
        url.scheme = rest.substr(0, pos);
        rest = rest.substr(pos + 3);
    }
    if (url.scheme != "http" && url.scheme != "https")
        throw Error(ErrorKind::bad_request, "unsupported URL scheme in '" + text + "'");
    url.port = url.scheme == "https" ? 443 : 80;

    if (auto slash = rest.find('/'); slash != std::string::npos) {
        url.target = rest.substr(slash);
        rest = rest.substr(0, slash);
    }
    if (auto colon = rest.rfind(':'); colon != std::string::npos) {
        std::string port_text = rest.substr(colon + 1);
        unsigned port = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535)
            throw Error(ErrorKind::bad_request, "bad port in URL '" + text + "'");
        url.port = static_cast<uint16_t>(port);
        rest = rest.substr(0, colon);
    }
    if (rest.empty()) throw Error(ErrorKind::bad_request, "no host in URL '" + text + "'");
    url.host = rest;
    return url;
}

}  // namespace sqlrep
