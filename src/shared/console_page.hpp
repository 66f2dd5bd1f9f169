#pragma once
// The web console (issue #19): one self-contained HTML page (src/shared/console/console.html,
// inline CSS and JavaScript, no external resources), embedded into the binary at build time
// (cmake/embed_file.cmake). The router serves it on GET /console, and on GET / to a
// browser (Accept: text/html), with no token: the page holds no data, asks the user for a
// token and sends it with each API call. Its Content-Security-Policy allows exactly the
// page's own inline script and style (by their SHA-256) and calls to this node only.
// docs/API.md ("The console") describes what the page does.
//
// Pure functions over immutable data; any thread.

#include <string_view>

#include "shared/http_types.hpp"

namespace sqlrep {

// The page's bytes, as built.
std::string_view console_html();

// Whether `req` asks for the console: GET /console, or GET / accepting text/html.
bool is_console_request(const HttpRequest& req);

// 200 text/html with the page and its security headers, for HTTP `version` (11 or 10).
HttpResponse console_response(unsigned version);

// The Content-Security-Policy header the page is served with.
const std::string& console_content_security_policy();

}  // namespace sqlrep
