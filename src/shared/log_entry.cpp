#include "shared/log_entry.hpp"

#include <cstdio>
#include <cstdlib>

#include <xxhash.h>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

void put_int(XXH3_state_t* state, int64_t value) {
    uint8_t bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
    XXH3_128bits_update(state, bytes, sizeof bytes);
}

// Boost.JSON 1.81 parses some doubles one step off the value it printed, so reals in
// an entry body travel as exact hex-float text: {"real": "0x1.8p+1"}. (No parameter value
// a client sends has that shape: the executor accepts objects only as {"blob": ...}.)
json::value exact_reals(const json::value& v) {
    if (v.is_double()) {
        char text[64];
        std::snprintf(text, sizeof text, "%a", v.get_double());
        return json::object{{"real", text}};
    }
    if (v.is_array()) {
        json::array out;
        for (const auto& item : v.get_array()) out.push_back(exact_reals(item));
        return out;
    }
    if (v.is_object() && !v.get_object().contains("blob")) {
        json::object out;
        for (const auto& [key, item] : v.get_object()) out[key] = exact_reals(item);
        return out;
    }
    return v;
}

// The inverse of exact_reals, in place: the applier decodes every entry it runs, and most
// hold no real at all.
void restore_reals(json::value& v) {
    if (v.is_array()) {
        for (json::value& item : v.get_array()) restore_reals(item);
        return;
    }
    if (!v.is_object()) return;
    json::object& o = v.get_object();
    if (const json::value* real = o.if_contains("real"); real && o.size() == 1) {
        if (!real->is_string()) throw Error(ErrorKind::bad_request, "malformed real in entry");
        const json::string& text = real->get_string();
        char* end = nullptr;
        double d = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size())
            throw Error(ErrorKind::bad_request, "malformed real in entry");
        v = d;
        return;
    }
    if (o.contains("blob")) return;
    for (auto& item : o) restore_reals(item.value());
}

// Params are an array of values or an object of named values: only the values may take
// the {"real": ...} shape, never the object of names itself, since a named parameter may be
// called "real" or "blob" (":real" binds {"real": 1.5}). Anything else stays as it is.
json::value encode_params(const json::value& params) {
    if (params.is_array()) return exact_reals(params);
    if (!params.is_object()) return params;
    json::object out;
    for (const auto& [name, value] : params.get_object()) out[name] = exact_reals(value);
    return out;
}

void decode_params(json::value& params) {
    if (params.is_array()) return restore_reals(params);
    if (!params.is_object()) return;
    for (auto& named : params.get_object()) restore_reals(named.value());
}

}  // namespace

std::string to_hex(const Hash& hash) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(32);
    for (uint8_t b : hash) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

Hash hash_from_hex(const std::string& hex) {
    if (hex.size() != 32) throw Error(ErrorKind::bad_request, "a hash is 32 hex digits");
    auto nibble = [&](char c) -> uint8_t {
        if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
        throw Error(ErrorKind::bad_request, "a hash is 32 lower-case hex digits");
    };
    Hash hash{};
    for (size_t i = 0; i < 16; ++i)
        hash[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    return hash;
}

Hash chain_hash(const Hash& previous, const Entry& entry) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    XXH3_128bits_update(state, previous.data(), previous.size());
    put_int(state, entry.index);
    put_int(state, entry.term);
    put_int(state, entry.time_ms);
    put_int(state, entry.seed);
    put_int(state, entry.changes);
    XXH3_128bits_update(state, entry.body.data(), entry.body.size());
    XXH128_hash_t digest = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, digest);
    Hash out;
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), out.begin());
    return out;
}

std::string encode_statements(const std::vector<SqlStatement>& statements) {
    json::array list;
    list.reserve(statements.size());
    for (const auto& s : statements) {
        json::object item{{"query", s.sql}};
        if (!s.params.is_null()) item["params"] = encode_params(s.params);
        list.push_back(std::move(item));
    }
    return json::serialize(list);
}

std::vector<SqlStatement> decode_statements(const std::string& body, json::storage_ptr storage) {
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec, storage);
    if (ec || !parsed.is_array())
        throw Error(ErrorKind::bad_request, "an entry body must be a JSON array of statements");
    std::vector<SqlStatement> out;
    for (json::value& item : parsed.get_array()) {
        if (!item.is_object()) throw Error(ErrorKind::bad_request, "malformed statement in entry");
        json::object& o = item.get_object();
        const json::value* query = o.if_contains("query");
        if (query == nullptr || !query->is_string())
            throw Error(ErrorKind::bad_request, "a statement in an entry has no string 'query'");
        json::value* params = o.if_contains("params");
        if (params != nullptr) decode_params(*params);
        // Construct, not assign: a moved-from value keeps its storage only that way.
        out.push_back({std::string(query->get_string()),
                       params != nullptr ? json::value(std::move(*params)) : json::value()});
    }
    return out;
}

}  // namespace sqlrep
