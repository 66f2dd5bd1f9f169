#pragma once
// The statement classifier. SQLite's authorizer callback sees every action a prepared
// statement will take (and some it takes while running, such as VACUUM's ATTACH); this
// unit turns those actions into sqlrep's rules without ever looking at SQL text:
//   - privileged: schema changes (CREATE/DROP/ALTER of tables, indexes, views, triggers);
//   - forbidden everywhere: ATTACH/DETACH (and so VACUUM [INTO]), load_extension, pragmas
//     other than read-only introspection, anything in the temp schema, transaction
//     control, any access to the reserved _sqlrep_* tables by client SQL, and the
//     functions and virtual tables that expose SQLite's internals or cannot be bounded
//     (refused_function / refused_table below; docs/API.md says why, one by one).
// Whether a statement is a read comes from sqlite3_stmt_readonly, checked by the caller.
//
// One StatementPolicy is installed per connection and used by that connection's thread.

#include <string>
#include <string_view>

struct sqlite3;

namespace sqlrep {

// Reserved tables live under this prefix; client SQL can never touch them.
inline constexpr const char* kReservedPrefix = "_sqlrep_";
// Whether `name` is under kReservedPrefix (compared without case, as SQLite names are).
bool is_reserved_name(std::string_view name);

// Why client SQL may not call the function `name` (any arity, any spelling), or nullptr
// when it may. Decided on the name SQLite resolved, never on the SQL text.
const char* refused_function(const char* name);
// Why client SQL may not read the table or eponymous virtual table `name` (dbstat,
// sqlite_stmt, pragma_integrity_check, ...), or nullptr when it may.
const char* refused_table(const char* name);

class StatementPolicy {
  public:
    // Installs the authorizer on `db`; the policy must outlive the connection's use.
    void install(sqlite3* db);

    // Call before preparing (or stepping) a client statement.
    void begin_statement() {
        privileged_ = false;
        inserts_ = false;
        actions_ = 0;
        denial_.clear();
    }

    // While true, sqlrep's own statements may use the reserved tables.
    void set_internal(bool internal) { internal_ = internal; }
    bool internal() const { return internal_; }

    // Whether the last statement (since begin_statement) changes the schema.
    bool privileged() const { return privileged_; }

    // Whether the last statement inserts rows (so its last_insert_rowid means something).
    bool inserts() const { return inserts_; }

    // How many actions the authorizer was asked about for the last statement. Only
    // VACUUM is a write that reports none at prepare time.
    int actions() const { return actions_; }

    // Why the authorizer refused the last statement, or empty.
    const std::string& denial() const { return denial_; }

  private:
    static int authorize(void* self, int action, const char* a, const char* b, const char* db,
                         const char* trigger);
    int check(int action, const char* a, const char* b, const char* database);
    int deny(std::string reason);

    bool internal_ = false;
    bool privileged_ = false;
    bool inserts_ = false;
    int actions_ = 0;
    std::string denial_;
};

}  // namespace sqlrep
