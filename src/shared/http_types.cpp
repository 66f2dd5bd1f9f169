#include "shared/http_types.hpp"

#include <algorithm>

namespace sqlrep {

HttpResponse json_response(unsigned status, const json::value& body) {
    std::string text;
    append_json(text, body);
    return json_text_response(status, std::move(text));
}

HttpResponse json_text_response(unsigned status, std::string body) {
    HttpResponse res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::server, "sqlrep");
    res.body() = std::move(body);
    res.body().push_back('\n');
    return res;
}

void append_json(std::string& out, const json::value& value) {
    json::serializer serializer;
    serializer.reset(&value);
    while (!serializer.done()) {
        // Straight into the string's spare room, grown geometrically as needed.
        if (out.capacity() - out.size() < 256)
            out.reserve(std::max(2 * out.capacity(), out.size() + 512));
        std::size_t used = out.size();
        out.resize(out.capacity());
        std::string_view written = serializer.read(out.data() + used, out.size() - used);
        out.resize(used + written.size());
    }
}

HttpResponse error_response(ErrorKind kind, const std::string& message) {
    HttpResponse res =
        json_response(http_status_for(kind), json::object{{"ok", false}, {"error", message}});
    if (kind == ErrorKind::unauthorized)
        res.set(http::field::www_authenticate, "Bearer realm=\"sqlrep\"");
    return res;
}

HttpResponse error_response(const Error& error) {
    return error_response(error.kind(), error.what());
}

}  // namespace sqlrep
