#include "shared/sql_executor.hpp"

#include <cmath>
#include <limits>
#include <string_view>

#include <sqlite3.h>

#include "shared/base64.hpp"
#include "shared/error.hpp"

namespace sqlrep {
namespace {

struct PreparedStatement {
    sqlite3_stmt* stmt = nullptr;
    ~PreparedStatement() { sqlite3_finalize(stmt); }
};

[[noreturn]] void throw_sqlite_error(Connection& conn, int rc) {
    const std::string& denial = conn.policy().denial();
    if (!denial.empty()) throw Error(ErrorKind::forbidden, denial);
    if (rc == SQLITE_INTERRUPT && conn.deadline_passed())
        throw Error(ErrorKind::timeout,
                    "the statement ran past the query time limit and was "
                    "interrupted");
    throw Error(ErrorKind::bad_request, sqlite3_errmsg(conn.handle()));
}

void bind_value(sqlite3_stmt* stmt, int index, const json::value& v) {
    int rc = SQLITE_OK;
    switch (v.kind()) {
        case json::kind::null:
            rc = sqlite3_bind_null(stmt, index);
            break;
        case json::kind::bool_:
            rc = sqlite3_bind_int(stmt, index, v.get_bool() ? 1 : 0);
            break;
        case json::kind::int64:
            rc = sqlite3_bind_int64(stmt, index, v.get_int64());
            break;
        case json::kind::uint64:
            if (v.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw Error(ErrorKind::bad_request, "parameter " + std::to_string(index) +
                                                        " is out of SQLite's integer range");
            rc = sqlite3_bind_int64(stmt, index, static_cast<int64_t>(v.get_uint64()));
            break;
        case json::kind::double_:
            rc = sqlite3_bind_double(stmt, index, v.get_double());
            break;
        case json::kind::string: {
            const auto& s = v.get_string();
            rc =
                sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        }
        case json::kind::object: {
            const auto& o = v.get_object();
            const json::value* blob = o.if_contains("blob");
            if (o.size() != 1 || blob == nullptr || !blob->is_string())
                throw Error(ErrorKind::bad_request,
                            "parameter " + std::to_string(index) +
                                ": objects are only allowed as {\"blob\": \"<base64>\"}");
            std::string bytes = base64_decode(std::string(blob->get_string()));
            rc = sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
            break;
        }
        case json::kind::array:
            throw Error(ErrorKind::bad_request, "parameter " + std::to_string(index) +
                                                    " is an array; values must be "
                                                    "scalars or {\"blob\": ...}");
    }
    if (rc != SQLITE_OK)
        throw Error(ErrorKind::bad_request,
                    "cannot bind parameter " + std::to_string(index) + ": " + sqlite3_errstr(rc));
}

void bind_params(sqlite3_stmt* stmt, const json::value& params) {
    int expected = sqlite3_bind_parameter_count(stmt);
    if (params.is_null()) {
        if (expected != 0)
            throw Error(ErrorKind::bad_request, "the statement has " + std::to_string(expected) +
                                                    " parameter(s) but no params were given");
        return;
    }
    if (params.is_array()) {
        const auto& values = params.get_array();
        if (static_cast<int>(values.size()) != expected)
            throw Error(ErrorKind::bad_request, "the statement has " + std::to_string(expected) +
                                                    " parameter(s) but " +
                                                    std::to_string(values.size()) + " were given");
        for (int i = 0; i < expected; ++i) bind_value(stmt, i + 1, values[static_cast<size_t>(i)]);
        return;
    }
    if (!params.is_object())
        throw Error(ErrorKind::bad_request, "params must be an array or an object");
    const auto& named = params.get_object();
    if (static_cast<int>(named.size()) != expected)
        throw Error(ErrorKind::bad_request, "the statement has " + std::to_string(expected) +
                                                " parameter(s) but " +
                                                std::to_string(named.size()) + " were given");
    for (const auto& [key, value] : named) {
        std::string name(key);
        int index = sqlite3_bind_parameter_index(stmt, name.c_str());
        for (const char* prefix : {":", "@", "$"}) {
            if (index != 0) break;
            index = sqlite3_bind_parameter_index(stmt, (prefix + name).c_str());
        }
        if (index == 0)
            throw Error(ErrorKind::bad_request, "the statement has no parameter named " + name);
        bind_value(stmt, index, value);
    }
}

// The bytes `text` takes once written as a JSON string: control characters, quotes and
// backslashes are escaped (a control character takes six bytes).
std::size_t json_text_bytes(const char* text, std::size_t size) {
    std::size_t bytes = size;
    for (std::size_t i = 0; i < size; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20)
            bytes += 5;
        else if (c == '"' || c == '\\')
            bytes += 1;
    }
    return bytes;
}

// Converts one column, counting what it adds to the answer into `bytes` and refusing it
// before it is built when that would pass `max_bytes`. A blob's size is known without
// building it (a zeroblob is only materialised by sqlite3_column_blob), so a row of huge
// zeroblobs costs nothing before it is refused.
json::value column_value(sqlite3_stmt* stmt, int column, std::size_t& bytes,
                         std::size_t max_bytes) {
    auto over = [&](std::size_t more) {
        if (more > max_bytes || bytes + more > max_bytes)
            throw Error(ErrorKind::too_large,
                        "the result is over the limit of " + std::to_string(max_bytes) +
                            " bytes (--max-result-bytes); add a LIMIT or select less");
        bytes += more;
    };
    switch (sqlite3_column_type(stmt, column)) {
        case SQLITE_INTEGER:
            over(8);
            return sqlite3_column_int64(stmt, column);
        case SQLITE_FLOAT: {
            over(8);
            // JSON has no infinity (SQLite makes one from 1e999 or an overflow): such a
            // result shows as null rather than as text no JSON parser accepts.
            double d = sqlite3_column_double(stmt, column);
            if (!std::isfinite(d)) return nullptr;
            return d;
        }
        case SQLITE_TEXT: {
            auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
            auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, column));
            over(json_text_bytes(text, size));
            return json::string(text, size);
        }
        case SQLITE_BLOB: {
            auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, column));
            over(4 * ((size + 2) / 3));  // as base64
            auto data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
            return json::object{{"blob", base64_encode(std::string(data ? data : "", size))}};
        }
        default:
            return nullptr;
    }
}

// VACUUM is the one write the authorizer hears nothing about before SQLite runs it (its
// ATTACH comes at step time, and inside a transaction it fails before that). Its
// bytecode names it, so look there rather than at the SQL text.
bool is_vacuum(sqlite3* db, sqlite3_stmt* stmt) {
    std::string explain = std::string("EXPLAIN ") + sqlite3_sql(stmt);
    PreparedStatement program;
    if (sqlite3_prepare_v2(db, explain.c_str(), -1, &program.stmt, nullptr) != SQLITE_OK)
        return false;
    while (sqlite3_step(program.stmt) == SQLITE_ROW) {
        auto opcode = reinterpret_cast<const char*>(sqlite3_column_text(program.stmt, 1));
        if (opcode != nullptr && std::string_view(opcode) == "Vacuum") return true;
    }
    return false;
}

// Opcodes that may run long in one step, where the progress handler cannot see them:
// OP_Count counts a whole table, a sort sorts everything gathered, a virtual table filters
// or a function (LIKE, json_*, replace, ...) works through its arguments at once.
// A statement with any of them is never run on an I/O thread.
bool has_long_step(std::string_view opcode) {
    static constexpr std::string_view kLong[] = {
        "Count",    "IntegrityCk", "Vacuum",     "SorterSort", "Sort",    "VFilter",
        "VNext",    "VUpdate",     "Function",   "PureFunc",   "AggStep", "AggStep1",
        "AggValue", "AggFinal",    "AggInverse", "Program",    "SqlExec", "ParseSchema"};
    for (std::string_view op : kLong)
        if (opcode == op) return true;
    return false;
}

// Whether every step of `stmt`'s program is short (see has_long_step). Asked once, when a
// statement is kept, so EXPLAIN's second prepare is not paid per read.
bool has_only_short_steps(sqlite3* db, sqlite3_stmt* stmt) {
    std::string explain = std::string("EXPLAIN ") + sqlite3_sql(stmt);
    PreparedStatement program;
    if (sqlite3_prepare_v2(db, explain.c_str(), -1, &program.stmt, nullptr) != SQLITE_OK)
        return false;
    int rc;
    while ((rc = sqlite3_step(program.stmt)) == SQLITE_ROW) {
        auto opcode = reinterpret_cast<const char*>(sqlite3_column_text(program.stmt, 1));
        if (opcode == nullptr || has_long_step(opcode)) return false;
    }
    return rc == SQLITE_DONE;
}

// Readies a statement for its next use: no open cursor, no bound values left over.
void reset_for_reuse(sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

// A kept statement is reset after each use, however that use ends.
struct ReusedStatement {
    sqlite3_stmt* stmt;
    ~ReusedStatement() { reset_for_reuse(stmt); }
};

struct Budget {
    std::size_t rows = 0;
    std::size_t bytes = 0;
};

// Binds, steps and collects one prepared statement whose policy verdict is in
// conn.policy() (fresh prepare) or given by `inserts` (a kept statement, which the
// authorizer already passed as a plain read or write).
void run_prepared(Connection& conn, sqlite3_stmt* stmt, const json::value& params,
                  ExecutionRule rule, const ResultLimits& limits, bool kept, bool inserts,
                  Budget& budget, ExecutionResult& out) {
    sqlite3* db = conn.handle();
    bool read_only = sqlite3_stmt_readonly(stmt) != 0;
    if (!kept && !read_only && conn.policy().actions() == 0 && is_vacuum(db, stmt))
        throw Error(ErrorKind::forbidden, "VACUUM is not allowed");
    if (rule == ExecutionRule::read_only && !read_only)
        throw Error(ErrorKind::bad_request,
                    "command \"query\" runs only read statements; send writes with "
                    "command \"exec\"");
    // A kept statement is never privileged (execute() keeps none), so the verdict of
    // this statement's fresh prepare is all there is to check.
    if (rule == ExecutionRule::data_write && conn.policy().privileged())
        throw Error(ErrorKind::forbidden,
                    "schema changes (CREATE/DROP/ALTER) need the admin role and must be sent "
                    "to the master itself");
    out.privileged = out.privileged || conn.policy().privileged();
    bind_params(stmt, params);

    json::object result;
    int columns = sqlite3_column_count(stmt);
    json::array rows;
    int64_t changes_before = sqlite3_total_changes64(db);
    StatementObserver* observer = conn.policy().privileged() ? conn.statement_observer() : nullptr;
    if (observer != nullptr) observer->before_schema_statement(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json::array row;
        row.reserve(static_cast<std::size_t>(columns));
        if (++budget.rows > limits.max_rows)
            throw Error(ErrorKind::too_large, "the result is over the limit of " +
                                                  std::to_string(limits.max_rows) +
                                                  " rows (--max-result-rows); add a LIMIT");
        for (int c = 0; c < columns; ++c)
            row.push_back(column_value(stmt, c, budget.bytes, limits.max_bytes));
        rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) throw_sqlite_error(conn, rc);
    // The policy also acts while stepping (VACUUM's ATTACH, or the authorizer run again
    // when SQLite re-prepares a kept statement after a schema change): a denial there ends
    // the statement early with SQLITE_DONE on some paths, so check it once more.
    if (!conn.policy().denial().empty()) throw Error(ErrorKind::forbidden, conn.policy().denial());
    if (observer != nullptr) observer->after_schema_statement(stmt);

    int64_t changed = sqlite3_total_changes64(db) - changes_before;
    out.total_changes += changed;
    // Room for every member at once (columns, types and rows, or rows_affected and
    // last_insert_id) rather than growing one member at a time.
    result.reserve(3);
    if (columns > 0) {
        json::array names;
        names.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) names.emplace_back(sqlite3_column_name(stmt, c));
        result["columns"] = std::move(names);
        // Declared types ("" for an expression): rqlite's answers show them.
        json::array types;
        types.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) {
            const char* declared = sqlite3_column_decltype(stmt, c);
            types.emplace_back(declared ? declared : "");
        }
        result["types"] = std::move(types);
        result["rows"] = std::move(rows);
    }
    if (!read_only) {
        // sqlite3_changes64 keeps the last DML count across DDL, so only trust it
        // when this statement changed something.
        int64_t affected = changed > 0 ? sqlite3_changes64(db) : 0;
        out.rows_affected += affected;
        out.last_insert_id = affected > 0 && (inserts || conn.policy().inserts())
                                 ? sqlite3_last_insert_rowid(db)
                                 : 0;
        result["rows_affected"] = affected;
        result["last_insert_id"] = out.last_insert_id;
    }
    out.results.push_back(std::move(result));
}

}  // namespace

ExecutionResult execute(Connection& conn, const std::vector<SqlStatement>& unit, ExecutionRule rule,
                        const ResultLimits& limits) {
    ExecutionResult out;
    execute(conn, unit, rule, limits, out);
    return out;
}

void execute(Connection& conn, const std::vector<SqlStatement>& unit, ExecutionRule rule,
             const ResultLimits& limits, ExecutionResult& out) {
    sqlite3* db = conn.handle();
    Budget budget;
    // Statements prepared while the reserved tables are allowed must never be found again
    // by client SQL: the cache is only for client rules.
    const bool cacheable = !conn.policy().internal();

    for (const SqlStatement& item : unit) {
        // A statement this connection ran before: no parse, no authorizer pass.
        const Connection::ClientStatement* kept =
            cacheable ? conn.find_client_statement(item.sql) : nullptr;
        if (kept != nullptr) {
            conn.policy().begin_statement();
            ReusedStatement reused{kept->stmt};
            run_prepared(conn, kept->stmt, item.params, rule, limits, true, kept->inserts, budget,
                         out);
            continue;
        }
        const char* tail = item.sql.c_str();
        const char* end = tail + item.sql.size();
        int statements_in_text = 0;
        while (tail < end) {
            PreparedStatement prepared;
            conn.policy().begin_statement();
            int rc = sqlite3_prepare_v3(db, tail, static_cast<int>(end - tail), 0, &prepared.stmt,
                                        &tail);
            if (rc != SQLITE_OK) throw_sqlite_error(conn, rc);
            if (prepared.stmt == nullptr) {
                // Only whitespace or a comment was left, or SQLite stopped at a NUL byte,
                // which would otherwise hide the rest of the text.
                if (tail < end && *tail == '\0')
                    throw Error(ErrorKind::bad_request, "the SQL text contains a NUL byte");
                continue;
            }
            if (++statements_in_text > 1 && !item.params.is_null())
                throw Error(ErrorKind::bad_request,
                            "params apply to a single statement; use \"batch\" to give each "
                            "statement its own");
            // Keep it for next time when it is the whole text and a plain read or write:
            // never schema changes (rare, and they change what later statements mean)
            // nor anything the authorizer heard nothing about.
            bool keep = cacheable && statements_in_text == 1 && tail == end &&
                        !conn.policy().privileged() && conn.policy().actions() > 0 &&
                        conn.policy().denial().empty();
            bool inserts = conn.policy().inserts();
            run_prepared(conn, prepared.stmt, item.params, rule, limits, false, inserts, budget,
                         out);
            if (keep) {
                reset_for_reuse(prepared.stmt);
                bool short_steps = sqlite3_stmt_readonly(prepared.stmt) != 0 &&
                                   has_only_short_steps(db, prepared.stmt);
                conn.keep_client_statement(item.sql, prepared.stmt, inserts, short_steps);
                prepared.stmt = nullptr;
            }
        }
        if (statements_in_text == 0) throw Error(ErrorKind::bad_request, "the query is empty");
    }
}

bool contains_privileged(Connection& conn, const std::vector<SqlStatement>& unit) {
    for (const SqlStatement& item : unit) {
        const char* tail = item.sql.c_str();
        const char* end = tail + item.sql.size();
        while (tail < end) {
            PreparedStatement prepared;
            conn.policy().begin_statement();
            int rc = sqlite3_prepare_v3(conn.handle(), tail, static_cast<int>(end - tail), 0,
                                        &prepared.stmt, &tail);
            if (!conn.policy().denial().empty())
                throw Error(ErrorKind::forbidden, conn.policy().denial());
            if (rc != SQLITE_OK || (prepared.stmt == nullptr && tail < end && *tail == '\0'))
                return false;  // the master will judge it
            if (conn.policy().privileged()) return true;
        }
    }
    return false;
}

}  // namespace sqlrep
