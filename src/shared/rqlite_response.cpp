#include "shared/rqlite_response.hpp"

#include <cctype>

#include "shared/base64.hpp"
#include "shared/sql_executor.hpp"

namespace sqlrep {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_blob(const json::value& v) {
    return v.is_object() && v.get_object().size() == 1 && v.get_object().contains("blob");
}

// What rqlite reports for a column without a declared type: its value's storage class.
std::string type_of_value(const json::value& v) {
    if (v.is_int64() || v.is_uint64()) return "integer";
    if (v.is_double()) return "real";
    if (v.is_string()) return "text";
    if (is_blob(v)) return "blob";
    return "";
}

// sqlrep writes a blob as {"blob": base64}; rqlite as the base64 text, or (blob_array) as
// an array of byte values.
json::value rqlite_value(const json::value& v, bool blob_array) {
    if (!is_blob(v)) return v;
    const json::value& text = v.get_object().at("blob");
    if (!blob_array) return text;
    std::string bytes = base64_decode(std::string(text.get_string()));
    json::array out;
    out.reserve(bytes.size());
    for (unsigned char b : bytes) out.emplace_back(static_cast<int64_t>(b));
    return out;
}

void indent(std::string& out, int depth) { out.append(static_cast<std::size_t>(depth) * 4, ' '); }

void write_pretty(std::string& out, const json::value& v, int depth) {
    if (v.is_object() && !v.get_object().empty()) {
        out += "{\n";
        bool first = true;
        for (const auto& kv : v.get_object()) {
            if (!first) out += ",\n";
            first = false;
            indent(out, depth + 1);
            out += json::serialize(json::string(kv.key()));
            out += ": ";
            write_pretty(out, kv.value(), depth + 1);
        }
        out += "\n";
        indent(out, depth);
        out += "}";
    } else if (v.is_array() && !v.get_array().empty()) {
        out += "[\n";
        bool first = true;
        for (const auto& item : v.get_array()) {
            if (!first) out += ",\n";
            first = false;
            indent(out, depth + 1);
            write_pretty(out, item, depth + 1);
        }
        out += "\n";
        indent(out, depth);
        out += "]";
    } else {
        out += json::serialize(v);
    }
}

}  // namespace

json::object rqlite_result(const json::object& result, const RqliteOptions& options,
                           std::optional<double> seconds) {
    json::object out;
    if (const json::value* columns = result.if_contains("columns")) {
        const json::array& names = columns->get_array();
        const json::value* declared = result.if_contains("types");
        const json::value* rows_value = result.if_contains("rows");
        static const json::array kNone;
        const json::array& rows = rows_value ? rows_value->get_array() : kNone;
        std::vector<std::string> types(names.size());
        for (std::size_t c = 0; c < names.size(); ++c) {
            if (declared && c < declared->get_array().size())
                types[c] = lower(declared->get_array()[c].get_string());
            for (std::size_t r = 0; types[c].empty() && r < rows.size(); ++r)
                types[c] = type_of_value(rows[r].get_array().at(c));
        }
        if (options.associative) {
            json::object type_map;
            for (std::size_t c = 0; c < names.size(); ++c)
                type_map[names[c].get_string()] = types[c];
            json::array objects;
            for (const auto& row : rows) {
                json::object o;
                for (std::size_t c = 0; c < names.size(); ++c)
                    o[names[c].get_string()] =
                        rqlite_value(row.get_array().at(c), options.blob_array);
                objects.push_back(std::move(o));
            }
            out["types"] = std::move(type_map);
            out["rows"] = std::move(objects);
        } else {
            out["columns"] = names;
            json::array type_list;
            for (auto& t : types) type_list.emplace_back(t);
            out["types"] = std::move(type_list);
            // rqlite leaves "values" out when there is no row.
            if (!rows.empty()) {
                json::array values;
                for (const auto& row : rows) {
                    json::array converted;
                    for (const auto& v : row.get_array())
                        converted.push_back(rqlite_value(v, options.blob_array));
                    values.push_back(std::move(converted));
                }
                out["values"] = std::move(values);
            }
        }
    } else {
        // rqlite leaves zero counts out: a CREATE TABLE answers {}.
        auto count = [&](const char* name) {
            const json::value* v = result.if_contains(name);
            return v && v->is_int64() ? v->get_int64() : 0;
        };
        if (int64_t id = count("last_insert_id"); id != 0) out["last_insert_id"] = id;
        if (int64_t n = count("rows_affected"); n != 0) out["rows_affected"] = n;
    }
    if (seconds) out["time"] = *seconds;
    return out;
}

json::object rqlite_error_result(const std::string& message) {
    return json::object{{"error", message}};
}

std::string rqlite_serialize(const json::value& value, bool pretty) {
    if (!pretty) return json::serialize(value);
    std::string out;
    write_pretty(out, value, 0);
    return out;
}

HttpResponse rqlite_json(unsigned status, const json::value& body, bool pretty) {
    HttpResponse res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.set(http::field::server, "sqlrep");
    res.body() = rqlite_serialize(body, pretty);
    res.prepare_payload();
    return res;
}

HttpResponse rqlite_text(unsigned status, const std::string& text) {
    HttpResponse res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::server, "sqlrep");
    res.body() = text + "\n";
    res.prepare_payload();
    return res;
}

}  // namespace sqlrep
