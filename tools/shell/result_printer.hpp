#pragma once
// Prints what a node answered in the shell's output modes (.mode):
// - table: box-drawn and aligned like sqlite3's ".mode box", numbers to the right; NULL
//   shows as an empty cell, control characters in text as \n, \t, \r or \x1b;
// - json: one array of {"column": value} objects per result, values as the API typed them;
// - csv: RFC 4180 (a header line, CRLF line ends, fields with , " CR or LF quoted, quotes
//   doubled); NULL is an empty field, the empty text "";
// - line: "column = value" per line, a blank line between rows (NULL empty).
// Blobs show as the API returns them, {"blob":"<base64>"}; reals as the shortest text
// that reads back as the same double. Writes print a line "N rows affected ..." in table
// and line modes, a JSON object in json mode, and nothing in csv mode (data only).
// Not thread-safe; writes to the stream it was given.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "shared/json.hpp"

namespace sqlrep::shell {

enum class OutputMode { table, json, csv, line };

// "table" (or "box"), "json", "csv", "line"; nullopt for anything else.
std::optional<OutputMode> parse_output_mode(std::string_view name);
const char* output_mode_name(OutputMode mode);

// A value as the text the table, csv and line modes show ("" for NULL).
std::string value_text(const json::value& value);

class ResultPrinter {
  public:
    explicit ResultPrinter(std::ostream& out) : out_(out) {}

    void set_mode(OutputMode mode) { mode_ = mode; }
    OutputMode mode() const { return mode_; }

    // One result set: `columns` are strings, each row an array of values. Nothing is
    // printed for a statement without columns.
    void print_rows(const json::array& columns, const json::array& rows);
    // A successful write: its counts and log index (the exec answer's fields).
    void print_write(int64_t rows_affected, int64_t last_insert_id, int64_t index);

  private:
    void print_table(const json::array& columns, const json::array& rows);
    void print_json(const json::array& columns, const json::array& rows);
    void print_csv(const json::array& columns, const json::array& rows);
    void print_line(const json::array& columns, const json::array& rows);

    std::ostream& out_;
    OutputMode mode_ = OutputMode::table;
};

}  // namespace sqlrep::shell
