#include "json_pretty.hpp"

namespace sqlrep::send_dummy {

namespace {

constexpr size_t kIndent = 2;
constexpr size_t kInlineWidth = 100;

bool is_scalar(const json::value& v) { return !v.is_array() && !v.is_object(); }

// The one-line form, when `value` has no nested containers and that line is short.
bool inline_form(const json::value& value, size_t column, std::string& out) {
    if (value.is_array()) {
        for (const auto& v : value.get_array())
            if (!is_scalar(v)) return false;
    } else if (value.is_object()) {
        for (const auto& kv : value.get_object())
            if (!is_scalar(kv.value())) return false;
    }
    // Spaces after commas and colons, as the indented form has them.
    out.clear();
    if (value.is_array()) {
        out += "[";
        for (const auto& v : value.get_array()) {
            if (out.size() > 1) out += ", ";
            out += json::serialize(v);
        }
        out += "]";
    } else {
        out += "{";
        for (const auto& kv : value.get_object()) {
            if (out.size() > 1) out += ", ";
            out += json::serialize(json::string(kv.key())) + ": " + json::serialize(kv.value());
        }
        out += "}";
    }
    return column + out.size() <= kInlineWidth;
}

void write(const json::value& value, size_t depth, std::string& out) {
    std::string line;
    if (is_scalar(value) || inline_form(value, depth * kIndent, line)) {
        out += is_scalar(value) ? json::serialize(value) : line;
        return;
    }
    const std::string inner((depth + 1) * kIndent, ' ');
    const std::string outer(depth * kIndent, ' ');
    if (value.is_array()) {
        const auto& array = value.get_array();
        out += "[\n";
        for (size_t i = 0; i < array.size(); ++i) {
            out += inner;
            write(array[i], depth + 1, out);
            out += i + 1 < array.size() ? ",\n" : "\n";
        }
        out += outer + "]";
        return;
    }
    const auto& object = value.get_object();
    out += "{\n";
    size_t i = 0;
    for (const auto& kv : object) {
        out += inner + json::serialize(json::string(kv.key())) + ": ";
        write(kv.value(), depth + 1, out);
        out += ++i < object.size() ? ",\n" : "\n";
    }
    out += outer + "}";
}

}  // namespace

std::string pretty_json(const json::value& value) {
    std::string out;
    write(value, 0, out);
    return out;
}

}  // namespace sqlrep::send_dummy
