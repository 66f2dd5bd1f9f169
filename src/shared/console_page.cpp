#include "shared/console_page.hpp"

#include <openssl/sha.h>

#include <string>

#include "shared/base64.hpp"

namespace sqlrep {

// Generated from src/shared/console/console.html (CMakeLists.txt, cmake/embed_file.cmake).
extern const unsigned char kConsoleHtml[];
extern const std::size_t kConsoleHtml_size;

namespace {

// The text between the first `<tag>` and its closing tag, or "" when there is none.
std::string_view element_text(std::string_view html, std::string_view tag) {
    std::string open = "<" + std::string(tag) + ">";
    std::string close = "</" + std::string(tag) + ">";
    std::size_t start = html.find(open);
    if (start == std::string_view::npos) return {};
    start += open.size();
    std::size_t end = html.find(close, start);
    if (end == std::string_view::npos) return {};
    return html.substr(start, end - start);
}

std::string sha256_source(std::string_view text) {
    std::string digest(SHA256_DIGEST_LENGTH, '\0');
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
           reinterpret_cast<unsigned char*>(digest.data()));
    return "'sha256-" + base64_encode(digest) + "'";
}

}  // namespace

std::string_view console_html() {
    return {reinterpret_cast<const char*>(kConsoleHtml), kConsoleHtml_size};
}

const std::string& console_content_security_policy() {
    // Computed once from the embedded page: its one <script> and one <style> element are
    // the only code and style the browser will run; everything else is refused.
    static const std::string policy = [] {
        std::string_view html = console_html();
        return "default-src 'none'; script-src " + sha256_source(element_text(html, "script")) +
               "; style-src " + sha256_source(element_text(html, "style")) +
               "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'";
    }();
    return policy;
}

bool is_console_request(const HttpRequest& req) {
    if (req.method() != http::verb::get) return false;
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/console") return true;
    if (path != "/") return false;
    auto accept = req.find(http::field::accept);
    return accept != req.end() && accept->value().find("text/html") != std::string_view::npos;
}

HttpResponse console_response(unsigned version) {
    HttpResponse res{http::status::ok, version};
    res.set(http::field::server, "sqlrep");
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.set("Content-Security-Policy", console_content_security_policy());
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.body() = std::string(console_html());
    res.prepare_payload();
    return res;
}

}  // namespace sqlrep
