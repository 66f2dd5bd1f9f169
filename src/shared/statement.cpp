#include "shared/statement.hpp"

#include <sqlite3.h>

#include "shared/error.hpp"

namespace sqlrep {

Statement::Statement(sqlite3* db, const std::string& sql, const char* what, unsigned prepare_flags)
    : db_(db), what_(what) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, prepare_flags, &stmt_, nullptr) != SQLITE_OK) {
        std::string problem = sqlite3_errmsg(db);
        sqlite3_finalize(stmt_);
        throw Error(ErrorKind::internal, std::string(what) + ": " + problem + " (" + sql + ")");
    }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(ErrorKind::internal, std::string(what_) + ": " + sqlite3_errmsg(db_));
}

}  // namespace sqlrep
