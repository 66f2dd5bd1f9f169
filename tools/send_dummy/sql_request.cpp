#include "sql_request.hpp"

namespace sqlrep::send_dummy {

json::object exec_body(const std::string& sql, const std::optional<json::value>& params,
                       const std::string& ack) {
    json::object body{{"command", "exec"}, {"query", sql}};
    if (params) body["params"] = *params;
    if (!ack.empty()) body["ack"] = ack;
    return body;
}

json::object query_body(const std::string& sql, const std::optional<json::value>& params,
                        std::optional<int64_t> min_index) {
    json::object body{{"command", "query"}, {"query", sql}};
    if (params) body["params"] = *params;
    if (min_index) body["min_index"] = *min_index;
    return body;
}

bool SqlAnswer::ok() const {
    if (status != 200 || !body.is_object()) return false;
    const json::value* ok = body.get_object().if_contains("ok");
    return ok && ok->is_bool() && ok->get_bool();
}

std::string SqlAnswer::error() const {
    if (body.is_object())
        if (const json::value* e = body.get_object().if_contains("error"); e && e->is_string())
            return std::string(e->get_string());
    if (ok()) return {};
    return "HTTP " + std::to_string(status) + (body.is_null() ? " (body is not JSON)" : "");
}

int64_t SqlAnswer::index() const {
    if (!body.is_object()) return -1;
    const json::value* i = body.get_object().if_contains("index");
    if (i && i->is_int64()) return i->get_int64();
    if (i && i->is_uint64()) return static_cast<int64_t>(i->get_uint64());
    return -1;
}

SqlAnswer send_sql(HttpClient& client, const json::object& body,
                   std::chrono::milliseconds timeout) {
    HttpResult result = client.post("/", json::serialize(body), {}, timeout);
    SqlAnswer answer;
    answer.status = result.status;
    answer.raw = std::move(result.body);
    boost::system::error_code ec;
    answer.body = json::parse(answer.raw, ec);
    if (ec) answer.body = nullptr;
    return answer;
}

}  // namespace sqlrep::send_dummy
