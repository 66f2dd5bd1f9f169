#include "shared/http_types.hpp"

namespace sqlrep {

HttpResponse json_response(unsigned status, const json::value& body) {
    HttpResponse res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::server, "sqlrep");
    res.body() = json::serialize(body);
    res.body().push_back('\n');
    return res;
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
