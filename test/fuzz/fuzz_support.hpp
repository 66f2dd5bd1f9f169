#pragma once
// Shared by the libFuzzer targets: invariant checks that abort with a message (libFuzzer
// then saves the input as a crash), the rule that malformed input may only end in
// Error(bad_request), and JSON comparison that treats reals bit for bit (json::value's ==
// would hide a real that came back one ulp off, which on a replica is silent divergence).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "shared/error.hpp"
#include "shared/json.hpp"
#include "shared/sql_executor.hpp"

namespace sqlrep::fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "\n==> fuzz invariant violated: %s%s%s\n", what,
                 detail.empty() ? "" : ": ", detail.c_str());
    std::abort();
}

inline void check(bool ok, const char* what, const std::string& detail = {}) {
    if (!ok) fail(what, detail);
}

// Runs `f`. True when it returned, false when it threw Error(bad_request): the only way a
// malformed request or message may fail (a 400 for clients; on the stream, a dropped
// connection and a resync). Another category or exception type aborts.
template <class F>
bool completes_or_rejects(const char* what, F&& f) {
    try {
        f();
        return true;
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::bad_request || http_status_for(e.kind()) / 100 != 4)
            fail(what, std::string("threw ") + error_kind_name(e.kind()) + ": " + e.what());
        return false;
    } catch (const std::exception& e) {
        fail(what, std::string("threw something other than sqlrep::Error: ") + e.what());
    }
}

// Same kind and same value; reals compared by their bits, objects in member order.
inline bool identical(const json::value& a, const json::value& b) {
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case json::kind::double_: {
            // SQLite binds every NaN as NULL, so NaNs need not keep their bits.
            double x = a.get_double(), y = b.get_double();
            return std::memcmp(&x, &y, sizeof x) == 0 || (std::isnan(x) && std::isnan(y));
        }
        case json::kind::array: {
            const auto &x = a.get_array(), &y = b.get_array();
            if (x.size() != y.size()) return false;
            for (std::size_t i = 0; i < x.size(); ++i)
                if (!identical(x[i], y[i])) return false;
            return true;
        }
        case json::kind::object: {
            const auto &x = a.get_object(), &y = b.get_object();
            if (x.size() != y.size()) return false;
            for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
                if (i->key() != j->key() || !identical(i->value(), j->value())) return false;
            return true;
        }
        default:
            return a == b;
    }
}

inline bool identical(const std::vector<SqlStatement>& a, const std::vector<SqlStatement>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].sql != b[i].sql || !identical(a[i].params, b[i].params)) return false;
    return true;
}

// Params the executor would bind: none, or an array / object of scalars and
// {"blob": "<base64>"}. Only statements the master executed reach the log, so only these
// must survive an entry body exactly.
inline bool bindable(const json::value& params) {
    auto value_ok = [](const json::value& v) {
        if (v.is_array()) return false;
        if (!v.is_object()) return true;
        const json::object& o = v.get_object();
        const json::value* blob = o.if_contains("blob");
        return o.size() == 1 && blob != nullptr && blob->is_string();
    };
    if (params.is_null()) return true;
    if (params.is_array()) {
        for (const auto& v : params.get_array())
            if (!value_ok(v)) return false;
        return true;
    }
    if (params.is_object()) {
        for (const auto& member : params.get_object())
            if (!value_ok(member.value())) return false;
        return true;
    }
    return false;
}

inline bool bindable(const std::vector<SqlStatement>& statements) {
    for (const auto& s : statements)
        if (!bindable(s.params)) return false;
    return true;
}

// Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
inline bool valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80) continue;
        int more;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf)
            more = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            more = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            more = 3, cp = c & 0x07;
        else
            return false;
        if (end - p < more) return false;
        for (int i = 0; i < more; ++i) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        p += more;
        if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

inline std::string as_text(const uint8_t* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace sqlrep::fuzz
