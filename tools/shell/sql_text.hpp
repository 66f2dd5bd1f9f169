#pragma once
// The shell's view of SQL text: where one statement ends (SQLite's own sqlite3_complete,
// so semicolons in literals, comments and CREATE TRIGGER bodies do not end one), and what
// kind of statement it is, judged by its leading keywords. The kind only chooses the
// command the shell sends (query or exec) or a transaction the shell keeps itself; the
// node still decides what a statement may do. Pure functions and a plain buffer, no I/O.

#include <string>
#include <string_view>
#include <vector>

namespace sqlrep::shell {

// Collects input lines until they hold complete statements.
class StatementBuffer {
  public:
    // Appends one line (without its newline).
    void add_line(std::string_view line);
    // Removes and returns every complete statement (each with its ';'); what follows the
    // last one stays. Text that is only whitespace and comments is dropped.
    std::vector<std::string> take_complete();
    // Removes and returns whatever is left (an unterminated statement), "" when blank.
    std::string take_rest();
    // True when no statement has begun.
    bool empty() const { return buffer_.empty(); }

  private:
    std::string buffer_;
};

// True when `sql` holds nothing but whitespace and comments.
bool is_blank_sql(std::string_view sql);

enum class StatementKind {
    read,      // SELECT, VALUES, EXPLAIN, PRAGMA, WITH ... SELECT: sent as "query"
    write,     // everything else: sent as "exec"
    begin,     // BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION]
    commit,    // COMMIT or END [TRANSACTION]
    rollback,  // ROLLBACK [TRANSACTION] (not ROLLBACK TO: the node refuses savepoints)
};

StatementKind classify(std::string_view sql);

// The SQL string literal of `text` ('it''s').
std::string quote_literal(std::string_view text);
// The SQL identifier `name` in double quotes ("a""b").
std::string quote_identifier(std::string_view name);

}  // namespace sqlrep::shell
