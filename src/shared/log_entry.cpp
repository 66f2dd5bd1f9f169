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

int64_t require_int(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_int64())
        throw Error(ErrorKind::bad_request, std::string("entry field '") + name +
                                                "' is missing or not an integer");
    return v->get_int64();
}

const json::string& require_string(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_string())
        throw Error(ErrorKind::bad_request, std::string("entry field '") + name +
                                                "' is missing or not a string");
    return v->get_string();
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

json::value restore_reals(const json::value& v) {
    if (v.is_object()) {
        const auto& o = v.get_object();
        if (const json::value* real = o.if_contains("real"); real && o.size() == 1) {
            if (!real->is_string()) throw Error(ErrorKind::bad_request, "malformed real in entry");
            const json::string& text = real->get_string();
            char* end = nullptr;
            double d = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size())
                throw Error(ErrorKind::bad_request, "malformed real in entry");
            return d;
        }
        if (o.contains("blob")) return v;
        json::object out;
        for (const auto& [key, item] : o) out[key] = restore_reals(item);
        return out;
    }
    if (v.is_array()) {
        json::array out;
        for (const auto& item : v.get_array()) out.push_back(restore_reals(item));
        return out;
    }
    return v;
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

json::value decode_params(const json::value& params) {
    if (params.is_array()) return restore_reals(params);
    if (!params.is_object()) return params;
    json::object out;
    for (const auto& [name, value] : params.get_object()) out[name] = restore_reals(value);
    return out;
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

std::vector<SqlStatement> decode_statements(const std::string& body) {
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec);
    if (ec || !parsed.is_array())
        throw Error(ErrorKind::bad_request, "an entry body must be a JSON array of statements");
    std::vector<SqlStatement> out;
    for (const auto& item : parsed.get_array()) {
        if (!item.is_object()) throw Error(ErrorKind::bad_request, "malformed statement in entry");
        const auto& o = item.get_object();
        SqlStatement s;
        s.sql = std::string(require_string(o, "query"));
        if (const json::value* p = o.if_contains("params")) s.params = decode_params(*p);
        out.push_back(std::move(s));
    }
    return out;
}

json::object entry_to_json(const Entry& entry) {
    return json::object{{"index", entry.index},     {"term", entry.term},
                        {"time_ms", entry.time_ms}, {"seed", entry.seed},
                        {"changes", entry.changes}, {"body", entry.body},
                        {"hash", to_hex(entry.hash)}};
}

Entry entry_from_json(const json::value& value) {
    if (!value.is_object()) throw Error(ErrorKind::bad_request, "an entry must be a JSON object");
    const auto& o = value.get_object();
    Entry e;
    e.index = require_int(o, "index");
    e.term = require_int(o, "term");
    e.time_ms = require_int(o, "time_ms");
    e.seed = require_int(o, "seed");
    e.changes = require_int(o, "changes");
    e.body = std::string(require_string(o, "body"));
    e.hash = hash_from_hex(std::string(require_string(o, "hash")));
    if (e.index < 1 || e.term < 1)
        throw Error(ErrorKind::bad_request, "entry index and term start at 1");
    return e;
}

}  // namespace sqlrep
