#include "master/webhook_sink.hpp"

#include "shared/error.hpp"

namespace sqlrep::master {
namespace {

// A client context that verifies the server against the system's CA certificates.
std::shared_ptr<ssl::context> system_verifying_tls() {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_default_verify_paths();
    context->set_verify_mode(ssl::verify_peer);
    return context;
}

}  // namespace

WebhookSink::WebhookSink(const std::string& url) : url_(parse_url(url)) {
    if (url_.scheme == "https") options_.tls = system_verifying_tls();
}

std::string webhook_body(const std::vector<SinkChange>& changes) {
    json::array events;
    events.reserve(changes.size());
    for (const SinkChange& change : changes) events.emplace_back(change.event);
    return json::serialize(json::object{{"first_index", changes.front().index},
                                        {"last_index", changes.back().index},
                                        {"changes", std::move(events)}});
}

void WebhookSink::deliver(const std::vector<SinkChange>& changes) {
    std::string body = webhook_body(changes);
    if (!client_) client_ = std::make_unique<HttpClient>(url_.origin(), options_);
    HttpResult result;
    try {
        result = client_->post(url_.target, body, {{"content-type", "application/json"}},
                               kRequestTimeout);
    } catch (const Error& e) {
        client_.reset();  // a fresh connection next time
        throw Error(ErrorKind::unavailable,
                    "POST " + url_.origin() + url_.target + " failed: " + e.what());
    }
    if (result.status < 200 || result.status > 299) {
        std::string excerpt = result.body.substr(0, 200);
        throw Error(ErrorKind::unavailable, "POST " + url_.origin() + url_.target +
                                                " answered HTTP " + std::to_string(result.status) +
                                                " " + excerpt);
    }
}

}  // namespace sqlrep::master
