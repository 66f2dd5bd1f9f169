#include "shared/etcd_client.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <spdlog/spdlog.h>

#include "shared/base64.hpp"
#include "shared/http_client.hpp"
#include "shared/url.hpp"

namespace sqlrep {

namespace {

using Clock = std::chrono::steady_clock;

// gRPC status codes etcd uses that this client tells apart.
constexpr int kGrpcNotFound = 5;
constexpr int kGrpcUnavailable = 14;

ErrorKind error_kind_for(EtcdErrorKind kind) {
    switch (kind) {
        case EtcdErrorKind::unreachable:
            return ErrorKind::unavailable;
        case EtcdErrorKind::timeout:
            return ErrorKind::timeout;
        case EtcdErrorKind::rejected:
            break;
    }
    return ErrorKind::internal;
}

// etcd's keys and values travel as base64; what it sends must decode.
std::string decode_from_etcd(const std::string& text) {
    try {
        return base64_decode(text);
    } catch (const Error&) {
        throw EtcdError(EtcdErrorKind::rejected, "etcd sent invalid base64");
    }
}

// An int64 field: the gateway writes them as strings, proto3 leaves out zeros. Numbers
// are accepted too.
int64_t int64_field(const json::object& object, std::string_view name) {
    const json::value* v = object.if_contains(name);
    if (v == nullptr || v->is_null()) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= uint64_t(std::numeric_limits<int64_t>::max()))
        return static_cast<int64_t>(v->get_uint64());
    if (v->is_string()) {
        const json::string& s = v->get_string();
        int64_t out = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc() && end == s.data() + s.size()) return out;
    }
    throw EtcdError(EtcdErrorKind::rejected,
                    "etcd sent a field '" + std::string(name) + "' that is not an int64");
}

std::string string_field(const json::object& object, std::string_view name) {
    const json::value* v = object.if_contains(name);
    if (v == nullptr || v->is_null()) return "";
    if (!v->is_string())
        throw EtcdError(EtcdErrorKind::rejected,
                        "etcd sent a field '" + std::string(name) + "' that is not a string");
    return std::string(v->get_string());
}

// The first JSON value of an answer: a streaming method (lease keep-alive) answers with
// newline-separated messages. json::parser::write_some fails on an incomplete value and
// stops after the first complete one.
json::value first_json_value(const std::string& text, boost::system::error_code& ec) {
    json::parser parser;
    parser.write_some(text.data(), text.size(), ec);
    if (ec) return nullptr;
    return parser.release();
}

json::string lease_text(int64_t lease) { return json::string(std::to_string(lease)); }

}  // namespace

const char* etcd_error_kind_name(EtcdErrorKind kind) {
    switch (kind) {
        case EtcdErrorKind::unreachable:
            return "unreachable";
        case EtcdErrorKind::timeout:
            return "timeout";
        case EtcdErrorKind::rejected:
            break;
    }
    return "rejected";
}

EtcdError::EtcdError(EtcdErrorKind kind, const std::string& message, int grpc_code)
    : Error(error_kind_for(kind), message), etcd_kind_(kind), grpc_code_(grpc_code) {}

std::vector<std::string> parse_etcd_endpoints(const std::string& comma_separated) {
    std::vector<std::string> endpoints;
    std::size_t start = 0;
    while (start <= comma_separated.size()) {
        std::size_t comma = comma_separated.find(',', start);
        if (comma == std::string::npos) comma = comma_separated.size();
        std::string item = comma_separated.substr(start, comma - start);
        auto first = item.find_first_not_of(" \t");
        auto last = item.find_last_not_of(" \t");
        item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
        if (item.empty())
            throw Error(ErrorKind::bad_request,
                        "empty entry in the etcd endpoint list '" + comma_separated + "'");
        if (parse_url(item).scheme != "http")
            throw Error(ErrorKind::bad_request, "etcd endpoint '" + item + "' is not http://");
        endpoints.push_back(item);
        start = comma + 1;
    }
    return endpoints;
}

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {
    if (options_.endpoints.empty()) throw Error(ErrorKind::bad_request, "no etcd endpoint");
    for (const auto& endpoint : options_.endpoints) {
        if (parse_url(endpoint).scheme != "http")
            throw Error(ErrorKind::bad_request, "etcd endpoint '" + endpoint + "' is not http://");
        clients_.push_back(std::make_unique<HttpClient>(endpoint));
    }
}

EtcdClient::~EtcdClient() = default;

const std::string& EtcdClient::current_endpoint() const { return options_.endpoints[preferred_]; }

json::object EtcdClient::call(const std::string& path, const json::object& body) {
    const auto deadline = Clock::now() + options_.call_timeout;
    const std::string target = options_.api_prefix + path;
    const std::string payload = json::serialize(body);
    std::optional<EtcdError> failure;
    bool timed_out = false;

    for (std::size_t i = 0; i < clients_.size(); ++i) {
        const std::size_t index = (preferred_ + i) % clients_.size();
        const std::string& endpoint = options_.endpoints[index];
        auto remaining =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (remaining <= std::chrono::milliseconds(0)) {
            timed_out = true;
            break;
        }
        HttpResult result;
        try {
            result = clients_[index]->post(target, payload, {},
                                           std::min(remaining, options_.attempt_timeout));
        } catch (const Error& e) {
            bool timeout = e.kind() == ErrorKind::timeout;
            timed_out = timed_out || timeout;
            failure.emplace(timeout ? EtcdErrorKind::timeout : EtcdErrorKind::unreachable,
                            std::string("etcd ") + e.what());
            spdlog::debug("etcd {} {}: {}", endpoint, path, e.what());
            continue;
        }
        preferred_ = index;  // it answered: start there next time

        boost::system::error_code ec;
        json::value answer = first_json_value(result.body, ec);
        if (ec || !answer.is_object())
            throw EtcdError(EtcdErrorKind::rejected, "etcd " + endpoint + " " + path + ": HTTP " +
                                                         std::to_string(result.status) +
                                                         " with a body that is not a JSON object");
        json::object& object = answer.get_object();
        // A streaming method wraps each message: {"result": {...}} or {"error": {...}}.
        if (auto* wrapped = object.if_contains("result"); wrapped && wrapped->is_object())
            return std::move(wrapped->get_object());
        const json::value* error = object.if_contains("error");
        if (error == nullptr && result.status == 200) return std::move(object);

        // Unary errors: {"error": text, "code": n, "message": text}; stream errors:
        // {"error": {"grpc_code": n, "message": text, ...}}.
        int code = 0;
        std::string message;
        if (error != nullptr && error->is_object()) {
            code = static_cast<int>(int64_field(error->get_object(), "grpc_code"));
            message = string_field(error->get_object(), "message");
        } else {
            code = static_cast<int>(int64_field(object, "code"));
            message = string_field(object, "message");
        }
        EtcdError rejected(EtcdErrorKind::rejected,
                           "etcd " + endpoint + " " + path + " refused (HTTP " +
                               std::to_string(result.status) + ", gRPC code " +
                               std::to_string(code) + "): " + message,
                           code);
        // A member without a leader may be cut off from a majority another member has.
        if (code != kGrpcUnavailable) throw rejected;
        failure.emplace(std::move(rejected));
        spdlog::debug("{}", failure->what());
    }

    if (timed_out)
        throw EtcdError(EtcdErrorKind::timeout,
                        "etcd " + path + ": no answer within " +
                            std::to_string(options_.call_timeout.count()) + " ms" +
                            (failure ? std::string(" (last: ") + failure->what() + ")" : ""));
    throw *failure;
}

int64_t EtcdClient::grant_lease(std::chrono::seconds ttl) {
    json::object answer = call("/lease/grant", {{"TTL", std::to_string(ttl.count())}});
    int64_t id = int64_field(answer, "ID");
    if (id == 0)
        throw EtcdError(EtcdErrorKind::rejected,
                        "etcd granted no lease: " + string_field(answer, "error"));
    return id;
}

std::chrono::seconds EtcdClient::keep_alive_once(int64_t lease) {
    // The answer for an unknown lease is {"result": {"ID": ...}} with no TTL: zero.
    json::object answer = call("/lease/keepalive", {{"ID", lease_text(lease)}});
    return std::chrono::seconds(std::max<int64_t>(0, int64_field(answer, "TTL")));
}

void EtcdClient::revoke_lease(int64_t lease) {
    try {
        call("/lease/revoke", {{"ID", lease_text(lease)}});
    } catch (const EtcdError& e) {
        if (e.etcd_kind() != EtcdErrorKind::rejected || e.grpc_code() != kGrpcNotFound) throw;
    }
}

std::optional<EtcdKeyValue> EtcdClient::get(const std::string& key) {
    json::object answer = call("/kv/range", {{"key", base64_encode(key)}});
    const json::value* kvs = answer.if_contains("kvs");
    if (kvs == nullptr || !kvs->is_array() || kvs->get_array().empty()) return std::nullopt;
    const json::value& first = kvs->get_array().front();
    if (!first.is_object())
        throw EtcdError(EtcdErrorKind::rejected, "etcd sent a key that is not an object");
    const json::object& kv = first.get_object();
    EtcdKeyValue out;
    out.value = decode_from_etcd(string_field(kv, "value"));
    out.create_revision = int64_field(kv, "create_revision");
    out.mod_revision = int64_field(kv, "mod_revision");
    out.lease = int64_field(kv, "lease");
    return out;
}

bool EtcdClient::txn(const json::object& compare, const json::object& success) {
    json::object body{{"compare", json::array{compare}}, {"success", json::array{success}}};
    json::object answer = call("/kv/txn", body);
    const json::value* succeeded = answer.if_contains("succeeded");
    return succeeded != nullptr && succeeded->is_bool() && succeeded->get_bool();
}

namespace {

json::object put_request(const std::string& key, const std::string& value, int64_t lease) {
    json::object put{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
    if (lease != 0) put["lease"] = lease_text(lease);
    return {{"request_put", std::move(put)}};
}

}  // namespace

bool EtcdClient::create_if_absent(const std::string& key, const std::string& value, int64_t lease) {
    return txn({{"key", base64_encode(key)},
                {"target", "CREATE"},
                {"result", "EQUAL"},
                {"create_revision", "0"}},
               put_request(key, value, lease));
}

bool EtcdClient::compare_and_put(const std::string& key, int64_t expected_mod_revision,
                                 const std::string& value, int64_t lease) {
    return txn({{"key", base64_encode(key)},
                {"target", "MOD"},
                {"result", "EQUAL"},
                {"mod_revision", std::to_string(expected_mod_revision)}},
               put_request(key, value, lease));
}

bool EtcdClient::delete_if_value(const std::string& key, const std::string& value) {
    // etcd fails a VALUE compare on a missing key (no empty-string match).
    return txn({{"key", base64_encode(key)},
                {"target", "VALUE"},
                {"result", "EQUAL"},
                {"value", base64_encode(value)}},
               {{"request_delete_range", json::object{{"key", base64_encode(key)}}}});
}

}  // namespace sqlrep
