#include "node_connection.hpp"

#include "shared/json_number.hpp"

namespace sqlrep::shell {

namespace {

Answer to_answer(HttpResult result) {
    Answer answer;
    answer.status = result.status;
    answer.raw = std::move(result.body);
    boost::system::error_code ec;
    json::value body = parse_json_exact(answer.raw, ec);
    if (!ec) answer.body = std::move(body);
    return answer;
}

}  // namespace

bool Answer::ok() const {
    if (status != 200 || !body.is_object()) return false;
    const json::value* ok = body.get_object().if_contains("ok");
    return ok != nullptr && ok->is_bool() && ok->get_bool();
}

std::string Answer::error() const {
    if (body.is_object())
        if (const json::value* e = body.get_object().if_contains("error"); e && e->is_string())
            return std::string(e->get_string());
    std::string text = "HTTP " + std::to_string(status);
    if (!raw.empty()) text += ": " + raw.substr(0, 200);
    return text;
}

NodeConnection::NodeConnection(const std::string& url, ClientOptions options,
                               std::chrono::milliseconds timeout)
    : client_(url, std::move(options)), timeout_(timeout) {}

Answer NodeConnection::post(const json::object& body) {
    return to_answer(
        client_.post("/", json::serialize(body), {{"Content-Type", "application/json"}}, timeout_));
}

Answer NodeConnection::query(const std::string& sql) {
    return post(json::object{{"command", "query"}, {"query", sql}});
}

Answer NodeConnection::get(const std::string& target) {
    return to_answer(client_.get(target, timeout_));
}

}  // namespace sqlrep::shell
