#include "shared/rqlite_request.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include "shared/error.hpp"
#include "shared/json_number.hpp"

namespace sqlrep {
namespace {

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorKind::bad_request, message); }

bool flag_value(std::string_view value) { return value != "false" && value != "0"; }

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A Go duration as rqlite takes it ("500ms", "1s", "1.5m", "2h", "0"), in milliseconds.
std::optional<int64_t> parse_duration_ms(std::string_view text) {
    if (text == "0") return 0;
    double total = 0;
    while (!text.empty()) {
        std::size_t digits = 0;
        while (digits < text.size() &&
               (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
            ++digits;
        if (digits == 0) return std::nullopt;
        double number = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
        if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
        text.remove_prefix(digits);
        std::size_t unit_len = 0;
        while (unit_len < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_len])))
            ++unit_len;
        std::string_view unit = text.substr(0, unit_len);
        text.remove_prefix(unit_len);
        double scale;
        if (unit == "ns")
            scale = 1e-6;
        else if (unit == "us" || unit == "µs")
            scale = 1e-3;
        else if (unit == "ms")
            scale = 1;
        else if (unit == "s")
            scale = 1e3;
        else if (unit == "m")
            scale = 60e3;
        else if (unit == "h")
            scale = 3600e3;
        else
            return std::nullopt;
        total += number * scale;
    }
    if (!std::isfinite(total) || total > 1e15) return std::nullopt;
    return static_cast<int64_t>(total);
}

RqliteLevel parse_level(std::string_view text) {
    if (text == "none") return RqliteLevel::none;
    if (text == "weak") return RqliteLevel::weak;
    if (text == "linearizable") return RqliteLevel::linearizable;
    if (text == "strong") return RqliteLevel::strong;
    if (text == "auto") return RqliteLevel::automatic;
    bad("level must be none, weak, linearizable, strong or auto");
}

bool finite(const json::value& v) { return !v.is_double() || std::isfinite(v.get_double()); }

SqlStatement parse_item(const json::value& item, const RequestLimits& limits, std::size_t i) {
    std::string where = "statement " + std::to_string(i) + ": ";
    SqlStatement s;
    const json::value* sql = &item;
    if (item.is_array()) {
        const json::array& parts = item.get_array();
        if (parts.empty()) bad(where + "an empty array holds no SQL");
        sql = &parts[0];
        if (parts.size() == 2 && parts[1].is_object()) {
            s.params = parts[1];  // named: {"name": v}, bound to :name, @name or $name
            for (const auto& kv : parts[1].get_object())
                if (!finite(kv.value())) bad(where + "a number is too large for a double");
        } else if (parts.size() > 1) {
            json::array positional(parts.begin() + 1, parts.end());
            for (const auto& v : positional)
                if (!finite(v)) bad(where + "a number is too large for a double");
            s.params = std::move(positional);
        }
    }
    if (!sql->is_string()) bad(where + "SQL must be a string");
    if (sql->get_string().empty()) bad(where + "the SQL is empty");
    if (sql->get_string().size() > limits.max_sql_bytes)
        bad(where + "the SQL is longer than " + std::to_string(limits.max_sql_bytes) + " bytes");
    s.sql = std::string(sql->get_string());
    return s;
}

}  // namespace

std::string url_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
                   hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

RqliteOptions parse_rqlite_options(std::string_view target) {
    RqliteOptions o;
    auto q = target.find('?');
    if (q == std::string_view::npos) return o;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        auto eq = pair.find('=');
        std::string key = url_decode(pair.substr(0, eq));
        std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
        bool on = flag_value(value);
        if (key == "transaction")
            o.transaction = on;
        else if (key == "timings")
            o.timings = on;
        else if (key == "associative")
            o.associative = on;
        else if (key == "pretty")
            o.pretty = on;
        else if (key == "blob_array")
            o.blob_array = on;
        else if (key == "queue")
            o.queue = on;
        else if (key == "wait")
            o.wait = on;
        else if (key == "noleader")
            o.noleader = on;
        else if (key == "ver")
            o.nodes_v2 = value == "2";
        else if (key == "level")
            o.level = parse_level(value);
        else if (key == "freshness") {
            o.freshness_ms = parse_duration_ms(value);
            if (!o.freshness_ms) bad("freshness must be a duration such as 500ms or 1s");
        } else if (key == "q")
            o.q.push_back(value);
        // Other options (timeout, redirect, freshness_strict, ...) are accepted and
        // ignored, as docs/API.md lists.
    }
    return o;
}

std::vector<SqlStatement> parse_rqlite_statements(const std::string& body,
                                                  const RequestLimits& limits) {
    json::parse_options options;
    options.max_depth = limits.max_json_depth;
    boost::system::error_code ec;
    json::value parsed = parse_json_exact(body, ec, {}, options);
    if (ec) bad("the body is not valid JSON: " + ec.message());
    if (!parsed.is_array())
        bad("the body must be a JSON array of statements: \"SQL\", [\"SQL\", params...] or "
            "[\"SQL\", {named params}]");
    const json::array& items = parsed.get_array();
    if (items.empty()) bad("the body holds no statements");
    if (items.size() > limits.max_batch)
        bad("more than " + std::to_string(limits.max_batch) + " statements in one request");
    std::vector<SqlStatement> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) out.push_back(parse_item(items[i], limits, i));
    return out;
}

}  // namespace sqlrep
