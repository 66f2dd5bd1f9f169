#pragma once
// Runs client SQL on a Connection: splits multi-statement text with the prepare tail,
// applies the statement policy, binds JSON parameters, steps, and turns rows into typed
// JSON. Used by the master's writer, the replica's applier and the read pool alike, so
// a statement means the same thing everywhere.
//
// Runs on whichever thread owns the connection. Throws Error: forbidden for policy
// denials, bad_request for SQLite errors (its message included), timeout when the
// connection's deadline interrupts a statement, too_large past the result caps.

#include <cstdint>
#include <string>
#include <vector>

#include "shared/connection.hpp"
#include "shared/json.hpp"

namespace sqlrep {

// One unit of client SQL: text (possibly several statements) and its parameters
// (json null, an array for positional, an object for named).
struct SqlStatement {
    std::string sql;
    json::value params;
};

enum class ExecutionRule {
    read_only,   // every statement must be a read (query path)
    write,       // anything the policy allows (master writer, replica applier)
    data_write,  // writes without schema changes (a client without the admin role)
};

struct ResultLimits {
    std::size_t max_rows = 100000;
    std::size_t max_bytes = 64 * 1024 * 1024;
};

struct ExecutionResult {
    json::array results;        // one object per statement
    int64_t rows_affected = 0;  // summed over statements
    int64_t last_insert_id = 0;
    int64_t total_changes = 0;  // every row changed, triggers included
    bool privileged = false;    // some statement changed the schema
};

// Executes every statement of `unit` in order on `conn`.
ExecutionResult execute(Connection& conn, const std::vector<SqlStatement>& unit, ExecutionRule rule,
                        const ResultLimits& limits = {});

// The same into `out`: when a statement throws, `out.results` still holds the results of
// the statements before it (rqlite lists them beside a failed transaction's error).
void execute(Connection& conn, const std::vector<SqlStatement>& unit, ExecutionRule rule,
             const ResultLimits& limits, ExecutionResult& out);

// Prepares (never steps) every statement of `unit` and reports whether any changes the
// schema. Statements that cannot be prepared here (e.g. they name a table an earlier
// statement would create) stop the scan: the master will judge them.
// Throws Error(forbidden) for statements the policy refuses.
bool contains_privileged(Connection& conn, const std::vector<SqlStatement>& unit);

}  // namespace sqlrep
