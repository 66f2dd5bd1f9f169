#pragma once
// Renders rows of text as an aligned, psql-style text table, and turns the typed JSON
// values of query results into cell text. Pure functions of their input, no I/O.

#include <cstddef>
#include <string>
#include <vector>

#include "shared/net.hpp"
#include "terminal.hpp"

namespace sqlrep::show_all {

enum class Align { left, right };

class TextTable {
  public:
    explicit TextTable(std::vector<std::string> headers);

    // Short rows are padded with empty cells; extra cells are dropped.
    void add_row(std::vector<std::string> cells);
    void set_align(size_t column, Align align);
    size_t row_count() const { return rows_.size(); }

    // One line per row, each ending in '\n', every line indented by `indent` spaces.
    // Headers are bold when the palette has colour.
    std::string render(const Palette& palette, size_t indent = 0) const;

  private:
    std::vector<std::string> headers_;
    std::vector<Align> align_;
    std::vector<std::vector<std::string>> rows_;
};

// A query result value as one line of text: NULL, numbers, strings with control
// characters escaped, "<blob N bytes>"; cut to `max_width` characters with "…".
std::string cell_text(const json::value& value, size_t max_width);

// Number of characters (UTF-8 code points) `text` shows as.
size_t display_width(const std::string& text);

}  // namespace sqlrep::show_all
