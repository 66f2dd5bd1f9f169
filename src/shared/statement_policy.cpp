#include "shared/statement_policy.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include <sqlite3.h>

namespace sqlrep {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_reserved(const char* name) {
    if (name == nullptr) return false;
    std::string_view n(name);
    return n.size() >= std::strlen(kReservedPrefix) &&
           iequals(n.substr(0, std::strlen(kReservedPrefix)), kReservedPrefix);
}

// Pragmas that only describe the database. Anything else could change durability,
// journaling or schema internals on one node only, so it is refused.
bool is_introspection_pragma(std::string_view name, const char* argument) {
    static constexpr std::array kAnyArgument = {
        "table_info",   "table_xinfo",   "index_list",  "index_info",      "index_xinfo",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
        "table_list",   "collation_list", "function_list", "module_list",  "pragma_list",
        "compile_options"};
    static constexpr std::array kNoArgument = {
        "page_count", "page_size", "freelist_count", "data_version", "schema_version",
        "user_version", "application_id", "encoding", "foreign_keys", "max_page_count"};
    for (const char* allowed : kAnyArgument)
        if (iequals(name, allowed)) return true;
    if (argument == nullptr)
        for (const char* allowed : kNoArgument)
            if (iequals(name, allowed)) return true;
    return false;
}

}  // namespace

void StatementPolicy::install(sqlite3* db) { sqlite3_set_authorizer(db, &authorize, this); }

int StatementPolicy::authorize(void* self, int action, const char* a, const char* b,
                               const char* database, const char*) {
    auto* policy = static_cast<StatementPolicy*>(self);
    // "CREATE TABLE temp.t" is reported as a plain CREATE TABLE in database "temp".
    if (!policy->internal_ && database != nullptr && iequals(database, "temp") &&
        (action == SQLITE_CREATE_TABLE || action == SQLITE_CREATE_VIEW ||
         action == SQLITE_CREATE_VTABLE || action == SQLITE_DROP_TABLE ||
         action == SQLITE_DROP_VIEW))
        return policy->check(SQLITE_CREATE_TEMP_TABLE, a, b);
    return policy->check(action, a, b);
}

int StatementPolicy::deny(std::string reason) {
    if (denial_.empty()) denial_ = std::move(reason);
    return SQLITE_DENY;
}

int StatementPolicy::check(int action, const char* a, const char* b) {
    if (internal_) return SQLITE_OK;
    ++actions_;
    if (action == SQLITE_INSERT) inserts_ = true;

    switch (action) {
        // Schema changes: privileged, and never on reserved tables.
        case SQLITE_CREATE_TABLE:
        case SQLITE_CREATE_VIEW:
        case SQLITE_DROP_TABLE:
        case SQLITE_DROP_VIEW:
        case SQLITE_CREATE_VTABLE:
        case SQLITE_DROP_VTABLE:
            if (is_reserved(a)) return deny(std::string("the ") + a + " table is reserved by sqlrep");
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
            return deny("TEMP objects are not allowed: they live in one connection and cannot "
                        "be replicated");

        case SQLITE_TRANSACTION:
        case SQLITE_SAVEPOINT:
            return deny("transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE) is not "
                        "allowed: every request already runs as one transaction");

        case SQLITE_ATTACH:
        case SQLITE_DETACH:
            // VACUUM and VACUUM INTO attach their target, so this refuses them too.
            return deny("ATTACH, DETACH and VACUUM are not allowed");

        case SQLITE_PRAGMA:
            if (a != nullptr && is_introspection_pragma(a, b)) return SQLITE_OK;
            return deny(std::string("PRAGMA ") + (a ? a : "") +
                        " is not allowed: only read-only introspection pragmas are");

        case SQLITE_FUNCTION:  // b = function name
            if (b != nullptr && iequals(b, "load_extension"))
                return deny("load_extension is not allowed");
            return SQLITE_OK;

        case SQLITE_READ:
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
