#include "result_printer.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace sqlrep::shell {

namespace {

std::string real_text(double d) {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
    std::string text(buffer, ec == std::errc() ? end : buffer);
    // 2.0 as "2.0", as sqlite3 prints it, so a real never looks like an integer.
    if (text.find_first_of(".eEni") == std::string::npos) text += ".0";
    return text;
}

std::string column_name(const json::value& column) {
    return column.is_string() ? std::string(column.get_string()) : json::serialize(column);
}

// Number of characters (UTF-8 code points) a text shows as.
size_t display_width(std::string_view text) {
    return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

// Control characters would break the table's lines.
std::string escape_controls(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (u < 0x20 || u == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        } else {
            out += c;
        }
    }
    return out;
}

std::string repeat(std::string_view piece, size_t times) {
    std::string out;
    for (size_t i = 0; i < times; ++i) out += piece;
    return out;
}

std::string csv_field(const json::value& value) {
    if (value.is_null()) return "";
    std::string text = value_text(value);
    bool quote = text.empty() || text.find_first_of(",\"\r\n") != std::string::npos;
    if (!quote) return text;
    std::string out = "\"";
    for (char c : text) {
        out += c;
        if (c == '"') out += '"';
    }
    return out + "\"";
}

}  // namespace

std::optional<OutputMode> parse_output_mode(std::string_view name) {
    if (name == "table" || name == "box") return OutputMode::table;
    if (name == "json") return OutputMode::json;
    if (name == "csv") return OutputMode::csv;
    if (name == "line") return OutputMode::line;
    return std::nullopt;
}

const char* output_mode_name(OutputMode mode) {
    switch (mode) {
        case OutputMode::table:
            return "table";
        case OutputMode::json:
            return "json";
        case OutputMode::csv:
            return "csv";
        case OutputMode::line:
            return "line";
    }
    return "table";
}

std::string value_text(const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            return "";
        case json::kind::int64:
            return std::to_string(value.get_int64());
        case json::kind::uint64:
            return std::to_string(value.get_uint64());
        case json::kind::double_:
            return real_text(value.get_double());
        case json::kind::string:
            return std::string(value.get_string());
        case json::kind::bool_:
            return value.get_bool() ? "true" : "false";
        default:
            return json::serialize(value);  // a blob: {"blob":"<base64>"}
    }
}

void ResultPrinter::print_rows(const json::array& columns, const json::array& rows) {
    if (columns.empty()) return;
    switch (mode_) {
        case OutputMode::table:
            print_table(columns, rows);
            break;
        case OutputMode::json:
            print_json(columns, rows);
            break;
        case OutputMode::csv:
            print_csv(columns, rows);
            break;
        case OutputMode::line:
            print_line(columns, rows);
            break;
    }
    out_.flush();
}

void ResultPrinter::print_write(int64_t rows_affected, int64_t last_insert_id, int64_t index) {
    switch (mode_) {
        case OutputMode::csv:
            return;
        case OutputMode::json:
            out_ << json::serialize(json::object{{"rows_affected", rows_affected},
                                                 {"last_insert_id", last_insert_id},
                                                 {"index", index}})
                 << '\n';
            break;
        case OutputMode::table:
        case OutputMode::line:
            out_ << rows_affected << (rows_affected == 1 ? " row" : " rows") << " affected";
            if (rows_affected > 0) out_ << ", last insert id " << last_insert_id;
            out_ << ", index " << index << '\n';
            break;
    }
    out_.flush();
}

void ResultPrinter::print_table(const json::array& columns, const json::array& rows) {
    size_t n = columns.size();
    std::vector<std::string> headers;
    std::vector<size_t> widths;
    for (const json::value& c : columns) {
        headers.push_back(escape_controls(column_name(c)));
        widths.push_back(display_width(headers.back()));
    }
    std::vector<std::vector<std::string>> cells;
    std::vector<std::vector<bool>> right;
    for (const json::value& row_value : rows) {
        const json::array* row = row_value.if_array();
        std::vector<std::string> line(n);
        std::vector<bool> align(n, false);
        for (size_t i = 0; row != nullptr && i < n && i < row->size(); ++i) {
            const json::value& v = (*row)[i];
            line[i] = escape_controls(value_text(v));
            align[i] = v.is_number();
            widths[i] = std::max(widths[i], display_width(line[i]));
        }
        cells.push_back(std::move(line));
        right.push_back(std::move(align));
    }
    auto rule = [&](const char* left, const char* middle, const char* end) {
        out_ << left;
        for (size_t i = 0; i < n; ++i) out_ << (i ? middle : "") << repeat("─", widths[i] + 2);
        out_ << end << '\n';
    };
    auto line = [&](const std::vector<std::string>& texts, const std::vector<bool>& align) {
        out_ << "│";
        for (size_t i = 0; i < n; ++i) {
            std::string pad(widths[i] - display_width(texts[i]), ' ');
            out_ << ' ' << (align[i] ? pad + texts[i] : texts[i] + pad) << " │";
        }
        out_ << '\n';
    };
    rule("┌", "┬", "┐");
    line(headers, std::vector<bool>(n, false));
    rule("├", "┼", "┤");
    for (size_t r = 0; r < cells.size(); ++r) line(cells[r], right[r]);
    rule("└", "┴", "┘");
}

void ResultPrinter::print_json(const json::array& columns, const json::array& rows) {
    out_ << '[';
    bool first = true;
    for (const json::value& row_value : rows) {
        const json::array* row = row_value.if_array();
        json::object object;
        for (size_t i = 0; row != nullptr && i < columns.size() && i < row->size(); ++i)
            object[column_name(columns[i])] = (*row)[i];
        out_ << (first ? "" : ",\n") << json::serialize(object);
        first = false;
    }
    out_ << "]\n";
}

void ResultPrinter::print_csv(const json::array& columns, const json::array& rows) {
    for (size_t i = 0; i < columns.size(); ++i)
        out_ << (i ? "," : "") << csv_field(json::value(column_name(columns[i])));
    out_ << "\r\n";
    for (const json::value& row_value : rows) {
        const json::array* row = row_value.if_array();
        for (size_t i = 0; row != nullptr && i < row->size(); ++i)
            out_ << (i ? "," : "") << csv_field((*row)[i]);
        out_ << "\r\n";
    }
}

void ResultPrinter::print_line(const json::array& columns, const json::array& rows) {
    size_t width = 0;
    for (const json::value& c : columns) width = std::max(width, display_width(column_name(c)));
    bool first = true;
    for (const json::value& row_value : rows) {
        const json::array* row = row_value.if_array();
        if (!first) out_ << '\n';
        first = false;
        for (size_t i = 0; row != nullptr && i < columns.size() && i < row->size(); ++i) {
            std::string name = column_name(columns[i]);
            out_ << std::string(width - display_width(name), ' ') << name << " = "
                 << value_text((*row)[i]) << '\n';
        }
    }
}

}  // namespace sqlrep::shell
