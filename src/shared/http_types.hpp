#pragma once
// The request/response types every handler speaks, and builders for sqlrep's JSON
// responses ({"ok": true, ...} or {"ok": false, "error": "..."}).

#include <functional>
#include <string>

#include "shared/error.hpp"
#include "shared/net.hpp"

namespace sqlrep {

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// Completes a request. May be called from any thread, exactly once.
using Respond = std::function<void(HttpResponse)>;

HttpResponse json_response(unsigned status, const json::value& body);
// The same, for a body already serialized (json_response's '\n' is added here).
HttpResponse json_text_response(unsigned status, std::string body);
// Appends `value` serialized, exactly as json::serialize writes it.
void append_json(std::string& out, const json::value& value);
HttpResponse error_response(const Error& error);
HttpResponse error_response(ErrorKind kind, const std::string& message);

// Header names of node-to-node traffic.
inline constexpr const char* kTokenHeader = "X-Sqlrep-Token";
inline constexpr const char* kForwardedHeader = "X-Sqlrep-Forwarded-By";
// The sender's current term: on forwarded writes, and the master's in a stream's upgrade.
inline constexpr const char* kTermHeader = "X-Sqlrep-Term";

}  // namespace sqlrep
