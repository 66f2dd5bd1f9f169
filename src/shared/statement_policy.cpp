#include "shared/statement_policy.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include <sqlite3.h>

#include "shared/identifiers.hpp"

namespace sqlrep {

bool is_reserved_name(std::string_view name) {
    return name.size() >= std::strlen(kReservedPrefix) &&
           iequals(name.substr(0, std::strlen(kReservedPrefix)), kReservedPrefix);
}

namespace {

bool is_reserved(const char* name) { return name != nullptr && is_reserved_name(name); }

// Pragmas that only describe the database. Anything else could change durability,
// journaling or schema internals on one node only, so it is refused.
bool is_introspection_pragma(std::string_view name, const char* argument) {
    static constexpr std::array kAnyArgument = {
        "table_info",     "table_xinfo",      "index_list",        "index_info",
        "index_xinfo",    "foreign_key_list", "foreign_key_check", "table_list",
        "collation_list", "function_list",    "module_list",       "pragma_list",
        "compile_options"};
    static constexpr std::array kNoArgument = {
        "page_count",   "page_size",      "freelist_count", "data_version", "schema_version",
        "user_version", "application_id", "encoding",       "foreign_keys", "max_page_count"};
    for (const char* allowed : kAnyArgument)
        if (iequals(name, allowed)) return true;
    if (argument == nullptr)
        for (const char* allowed : kNoArgument)
            if (iequals(name, allowed)) return true;
    return false;
}

// A whole-database check in one SQLite opcode: neither the progress handler nor the
// deadline can stop it, so one request could hold a connection for minutes.
constexpr const char* kIntegrityCheckRefusal =
    "PRAGMA integrity_check and quick_check are not allowed over the API: each runs over "
    "the whole database as one step that no time limit can interrupt; run them with the "
    "sqlite3 shell on the node's file";

struct Refusal {
    const char* name;
    const char* why;
};

// Functions Debian's SQLite 3.40 build registers that client SQL may not call (any
// arity). docs/API.md lists them with the same reasons.
constexpr std::array kRefusedFunctions = {
    Refusal{"load_extension", "it loads native code into the node"},
    Refusal{"fts3_tokenizer",
            "it returns the address of a tokenizer in the node's memory and, with two "
            "arguments, installs any address as a tokenizer that the next full-text query "
            "calls"},
    Refusal{"fts5", "it hands out a pointer to the FTS5 C API"},
    Refusal{"rtreenode", "it decodes any blob as an R-tree node (a debugging aid)"},
    Refusal{"rtreedepth", "it decodes any blob as an R-tree node (a debugging aid)"},
    Refusal{"rtreecheck", "it checks a whole R-tree in one step that no time limit stops"},
    Refusal{"optimize", "FTS3/4's optimize() rewrites the full-text index from a SELECT"},
    Refusal{"sqlite_log", "it writes client text into the node's error log"},
    Refusal{"sqlite_offset", "it reveals where a row sits in the database file"},
    // Shell and extension functions that are not in Debian's library today; refused by name
    // so that a build that adds them does not open the file system.
    Refusal{"readfile", "it reads files on the node"},
    Refusal{"writefile", "it writes files on the node"},
    Refusal{"edit", "it runs an editor on the node"},
};

// Tables client SQL may not read, whatever schema they are named in; all are eponymous
// virtual tables or table-valued functions (`SELECT * FROM dbstat`, `dbstat('main')`).
constexpr std::array kRefusedTables = {
    Refusal{"sqlite_stmt",
            "it lists the statements prepared on the connection, which other clients share"},
    Refusal{"dbstat",
            "it exposes the file's page layout, the reserved tables' included, and reads "
            "every page"},
    Refusal{"sqlite_dbpage", "it reads and writes raw database pages"},
    Refusal{"sqlite_dbdata", "it decodes raw database pages"},
    Refusal{"sqlite_dbptr", "it decodes raw database pages"},
    Refusal{"fsdir", "it lists files on the node"},
    Refusal{"zipfile", "it reads and writes files on the node"},
    Refusal{"pragma_integrity_check", kIntegrityCheckRefusal},
    Refusal{"pragma_quick_check", kIntegrityCheckRefusal},
};

template <std::size_t N>
const char* find_refusal(const std::array<Refusal, N>& list, const char* name) {
    if (name == nullptr) return nullptr;
    for (const Refusal& r : list)
        if (iequals(name, r.name)) return r.why;
    return nullptr;
}

}  // namespace

const char* refused_function(const char* name) { return find_refusal(kRefusedFunctions, name); }

const char* refused_table(const char* name) { return find_refusal(kRefusedTables, name); }

void StatementPolicy::install(sqlite3* db) { sqlite3_set_authorizer(db, &authorize, this); }

int StatementPolicy::authorize(void* self, int action, const char* a, const char* b,
                               const char* database, const char*) {
    return static_cast<StatementPolicy*>(self)->check(action, a, b, database);
}

int StatementPolicy::deny(std::string reason) {
    if (denial_.empty()) denial_ = std::move(reason);
    return SQLITE_DENY;
}

int StatementPolicy::check(int action, const char* a, const char* b, const char* database) {
    if (internal_) return SQLITE_OK;
    ++actions_;
    if (action == SQLITE_INSERT) inserts_ = true;

    // The temp schema lives in one connection, so nothing there can be replicated: judge by
    // the schema SQLite resolved ("temp", "TEMP", "TeMp", TEMPORARY all arrive as "temp"),
    // which also catches CREATE TRIGGER temp.tr ON main_table, reported as a trigger in
    // "main" plus an INSERT into sqlite_temp_master. Reads are harmless: it stays empty. So
    // is SQLite's own UPDATE of sqlite_temp_master while it renames a main table (a client
    // cannot send one: SQLite refuses any write to it without writable_schema).
    // (SQLITE_ALTER_TABLE names its schema in `a`; its last argument is a column name.)
    if (action == SQLITE_ALTER_TABLE) database = a;
    if (database != nullptr && iequals(database, "temp") && action != SQLITE_READ &&
        !(action == SQLITE_UPDATE && a != nullptr && iequals(a, "sqlite_temp_master")))
        return deny(
            "TEMP objects are not allowed: they live in one connection and cannot be "
            "replicated");

    switch (action) {
        // Schema changes: privileged, and never on reserved tables.
        case SQLITE_CREATE_TABLE:
        case SQLITE_CREATE_VIEW:
        case SQLITE_DROP_TABLE:
        case SQLITE_DROP_VIEW:
        case SQLITE_CREATE_VTABLE:
        case SQLITE_DROP_VTABLE:
            if (is_reserved(a))
                return deny(std::string("the ") + a + " table is reserved by sqlrep");
            privileged_ = true;
            return SQLITE_OK;
        case SQLITE_CREATE_INDEX:
        case SQLITE_CREATE_TRIGGER:
        case SQLITE_DROP_INDEX:
        case SQLITE_DROP_TRIGGER:
            // a = index/trigger name, b = the table it belongs to
            if (is_reserved(a) || is_reserved(b))
                return deny("the _sqlrep_* tables are reserved by sqlrep");
            privileged_ = true;
            return SQLITE_OK;
        case SQLITE_ALTER_TABLE:  // a = database, b = table
            if (is_reserved(b)) return deny("the _sqlrep_* tables are reserved by sqlrep");
            privileged_ = true;
            return SQLITE_OK;
        case SQLITE_REINDEX:
        case SQLITE_ANALYZE:
            privileged_ = true;
            return SQLITE_OK;

        // TEMP objects live in one connection: they cannot be replicated.
        case SQLITE_CREATE_TEMP_INDEX:
        case SQLITE_CREATE_TEMP_TABLE:
        case SQLITE_CREATE_TEMP_TRIGGER:
        case SQLITE_CREATE_TEMP_VIEW:
        case SQLITE_DROP_TEMP_INDEX:
        case SQLITE_DROP_TEMP_TABLE:
        case SQLITE_DROP_TEMP_TRIGGER:
        case SQLITE_DROP_TEMP_VIEW:
            return deny(
                "TEMP objects are not allowed: they live in one connection and cannot "
                "be replicated");

        case SQLITE_TRANSACTION:
        case SQLITE_SAVEPOINT:
            return deny(
                "transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE) is not "
                "allowed: every request already runs as one transaction");

        case SQLITE_ATTACH:
        case SQLITE_DETACH:
            // VACUUM and VACUUM INTO attach their target, so this refuses them too.
            return deny("ATTACH, DETACH and VACUUM are not allowed");

        case SQLITE_PRAGMA:
            if (a != nullptr && (iequals(a, "integrity_check") || iequals(a, "quick_check")))
                return deny(kIntegrityCheckRefusal);
            if (a != nullptr && is_introspection_pragma(a, b)) return SQLITE_OK;
            return deny(std::string("PRAGMA ") + (a ? a : "") +
                        " is not allowed: only read-only introspection pragmas are");

        case SQLITE_FUNCTION:  // b = function name, as SQLite resolved it
            if (const char* why = refused_function(b))
                return deny(std::string(b) + "() is not allowed: " + why);
            return SQLITE_OK;

        case SQLITE_READ:  // a = table (or eponymous virtual table), b = column
            if (const char* why = refused_table(a))
                return deny(std::string(a) + " is not allowed: " + why);
            if (is_reserved(a)) return deny("the _sqlrep_* tables are reserved by sqlrep");
            return SQLITE_OK;
        case SQLITE_INSERT:
        case SQLITE_UPDATE:
        case SQLITE_DELETE:
            if (is_reserved(a)) return deny("the _sqlrep_* tables are reserved by sqlrep");
            return SQLITE_OK;

        default:
            return SQLITE_OK;
    }
}

}  // namespace sqlrep
