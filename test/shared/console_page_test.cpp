// The web console's page as the binary carries it, and the router's rule for serving it.

#include "shared/console_page.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace {

using namespace sqlrep;

HttpRequest request(http::verb method, const std::string& target, const std::string& accept) {
    HttpRequest req{method, target, 11};
    if (!accept.empty()) req.set(http::field::accept, accept);
    return req;
}

std::size_t count(std::string_view text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("the console page is embedded whole, with one inline script and one style",
          "[shared][console]") {
    std::string_view html = console_html();
    REQUIRE(html.substr(0, 15) == "<!doctype html>");
    CHECK(html.find("</html>") != std::string_view::npos);
    CHECK(count(html, "<script") == 1);
    CHECK(count(html, "<style") == 1);
}

TEST_CASE("the console page loads nothing from elsewhere", "[shared][console]") {
    std::string_view html = console_html();
    // No CDN, no fonts or images fetched: it must work on an air-gapped machine.
    CHECK(html.find("http://") == std::string_view::npos);
    CHECK(html.find("https://") == std::string_view::npos);
    CHECK(html.find(" src=") == std::string_view::npos);
    CHECK(html.find("@import") == std::string_view::npos);
    // Inline handlers and style attributes would need 'unsafe-inline'.
    CHECK(html.find(" onclick=") == std::string_view::npos);
    CHECK(html.find(" style=") == std::string_view::npos);
}

TEST_CASE("the console's policy allows its own script and style by hash and nothing else",
          "[shared][console]") {
    const std::string& csp = console_content_security_policy();
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("script-src 'sha256-") != std::string::npos);
    CHECK(csp.find("style-src 'sha256-") != std::string::npos);
    CHECK(csp.find("connect-src 'self'") != std::string::npos);
    CHECK(csp.find("unsafe") == std::string::npos);

    HttpResponse res = console_response(11);
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(res["Content-Security-Policy"] == csp);
    CHECK(res.body() == console_html());
}

TEST_CASE("GET /console and a browser's GET / ask for the console; POST / does not",
          "[shared][console]") {
    CHECK(is_console_request(request(http::verb::get, "/console", "")));
    CHECK(is_console_request(request(http::verb::get, "/console?x=1", "")));
    CHECK_FALSE(is_console_request(request(http::verb::head, "/console", "")));
    CHECK(is_console_request(
        request(http::verb::get, "/", "text/html,application/xhtml+xml,*/*;q=0.8")));
    CHECK_FALSE(is_console_request(request(http::verb::get, "/", "")));
    CHECK_FALSE(is_console_request(request(http::verb::get, "/", "application/json")));
    CHECK_FALSE(is_console_request(request(http::verb::post, "/", "text/html")));
    CHECK_FALSE(is_console_request(request(http::verb::post, "/console", "text/html")));
    CHECK_FALSE(is_console_request(request(http::verb::get, "/consoles", "text/html")));
}
