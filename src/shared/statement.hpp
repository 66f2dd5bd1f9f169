#pragma once
// The one owner of a prepared statement that is not kept on its connection: finalized
// however its scope ends. For sqlrep's one-off SQL (checksums, snapshot checks, a new
// table's rows); statements run on every write stay prepared in Connection::cached(), and
// clients' in sql_executor. Used by the thread that owns the connection.

#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace sqlrep {

class Statement {
  public:
    // Throws Error(internal), naming `what` and SQLite's message, when `sql` does not
    // prepare. `what` also names the failures of step(). `prepare_flags` are
    // sqlite3_prepare_v3's (SQLITE_PREPARE_PERSISTENT for a statement kept long).
    Statement(sqlite3* db, const std::string& sql, const char* what = "internal SQL",
              unsigned prepare_flags = 0);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    sqlite3_stmt* get() const { return stmt_; }
    // True for a row, false when done; throws Error(internal) on an error.
    bool step();

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    const char* what_;
};

}  // namespace sqlrep
