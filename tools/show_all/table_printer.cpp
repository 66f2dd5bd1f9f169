#include "table_printer.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sqlrep::show_all {

namespace {

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Cuts `text` to at most `max_width` code points, ending in "…" when something was cut.
std::string truncate(const std::string& text, size_t max_width) {
    if (max_width == 0 || display_width(text) <= max_width) return text;
    size_t keep = max_width > 1 ? max_width - 1 : 0;
    size_t points = 0;
    size_t end = 0;
    while (end < text.size()) {
        if (!is_continuation_byte(text[end])) {
            if (points == keep) break;
            ++points;
        }
        ++end;
    }
    return text.substr(0, end) + "…";
}

std::string escape_controls(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
                else
                    out += c;
        }
    }
    return out;
}

// Bytes a padded base64 text decodes to.
size_t base64_decoded_size(std::string_view text) {
    size_t padding = 0;
    while (padding < text.size() && padding < 2 && text[text.size() - 1 - padding] == '=')
        ++padding;
    return text.size() / 4 * 3 - std::min(padding, text.size() / 4 * 3);
}

}  // namespace

size_t display_width(const std::string& text) {
    return static_cast<size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return !is_continuation_byte(c); }));
}

std::string cell_text(const json::value& value, size_t max_width) {
    std::string text;
    switch (value.kind()) {
        case json::kind::null:
            text = "NULL";
            break;
        case json::kind::bool_:
            text = value.get_bool() ? "true" : "false";
            break;
        case json::kind::int64:
            text = std::to_string(value.get_int64());
            break;
        case json::kind::uint64:
            text = std::to_string(value.get_uint64());
            break;
        case json::kind::double_:
            text = fmt::format("{}", value.get_double());
            break;
        case json::kind::string:
            text = escape_controls(value.get_string());
            break;
        case json::kind::object:
            if (const json::value* blob = value.get_object().if_contains("blob");
                blob && blob->is_string()) {
                text = fmt::format("<blob {} bytes>", base64_decoded_size(blob->get_string()));
                break;
            }
            text = json::serialize(value);
            break;
        case json::kind::array:
            text = json::serialize(value);
            break;
    }
    return truncate(text, max_width);
}

TextTable::TextTable(std::vector<std::string> headers)
    : headers_(std::move(headers)), align_(headers_.size(), Align::left) {}

void TextTable::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

void TextTable::set_align(size_t column, Align align) {
    if (column < align_.size()) align_[column] = align;
}

std::string TextTable::render(const Palette& palette, size_t indent) const {
    std::vector<size_t> widths(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) {
        widths[c] = display_width(headers_[c]);
        for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
    }
    // Padding is computed on the plain text, before any colour codes are added.
    // The last column, when left-aligned, is not padded: trailing blanks are noise.
    auto pad = [&](const std::string& text, size_t c) {
        if (c + 1 == headers_.size() && align_[c] == Align::left) return text;
        std::string fill(widths[c] - display_width(text), ' ');
        return align_[c] == Align::right ? fill + text : text + fill;
    };
    const std::string margin(indent, ' ');
    std::string out;

    out += margin;
    for (size_t c = 0; c < headers_.size(); ++c) {
        if (c > 0) out += " | ";
        out += palette.bold(pad(headers_[c], c));
    }
    out += '\n';
    out += margin;
    for (size_t c = 0; c < headers_.size(); ++c) {
        if (c > 0) out += "-+-";
        out += std::string(widths[c], '-');
    }
    out += '\n';
    for (const auto& row : rows_) {
        std::string line = margin;
        for (size_t c = 0; c < headers_.size(); ++c) {
            if (c > 0) line += " | ";
            line += pad(row[c], c);
        }
        out += line + '\n';
    }
    return out;
}

}  // namespace sqlrep::show_all
