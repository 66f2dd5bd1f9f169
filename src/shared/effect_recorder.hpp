#pragma once
// Records the effects of writes on a writer connection (see effects.hpp): every row
// change SQLite makes in the main database, as its preupdate hook reports it (statements,
// triggers, foreign-key actions, REPLACE's deletes, virtual tables' shadow tables alike).
//
// On the master the sequencer brackets each request with begin_entry()/finish_entry() and
// the body it gets is the entry. Schema statements reach it through Connection's
// StatementObserver: a schema statement becomes its text, except CREATE TABLE ... AS
// SELECT, which becomes the created table's definition followed by its rows, so no replica
// ever evaluates the SELECT. Row changes a schema statement makes to tables it creates or
// drops are left out (replicas running the statement make or drop those themselves).
//
// On a replica the applier uses the same recorder to see what each of its statements
// really changed, and compares that byte for byte with the master's effect.
//
// sqlite_sequence is not reported by the hook when AUTOINCREMENT moves it, so it is
// compared before and after each entry and travels whole when it changed.
//
// Installed on one connection for the recorder's lifetime; used by that connection's
// thread only.

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "shared/connection.hpp"
#include "shared/effects.hpp"
#include "shared/error.hpp"

struct sqlite3;

namespace sqlrep {

class EffectRecorder : public StatementObserver {
  public:
    explicit EffectRecorder(Connection& conn);
    ~EffectRecorder() override;
    EffectRecorder(const EffectRecorder&) = delete;
    EffectRecorder& operator=(const EffectRecorder&) = delete;

    // Master: starts a new entry's effects.
    void begin_entry();
    // Master: the entry's body (every effect since begin_entry). Call only when the
    // request succeeded; otherwise abandon(). Throws what stopped the recording, if
    // anything did (see failure()).
    std::string finish_entry();
    void abandon();
    // Why the recording of this entry stopped, if it did: too_large when the write
    // changed more than kMaxEntryBytes of rows (the recorder then interrupts the
    // statement, so the client should be told this, not "interrupted").
    const std::optional<Error>& failure() const { return failure_; }

    // The most bytes of effects one entry holds: it is stored as one log row.
    static constexpr std::size_t kMaxEntryBytes = kMaxValueBytes - 1024;

    // Replica: what the connection changed since the last clear(), encoded.
    const std::string& recorded() const { return out_.bytes(); }
    void clear() { out_.clear(); }
    // The whole database was replaced (a restore): what the recorder knows of the schema
    // (virtual tables, sqlite_sequence) is read again.
    void schema_replaced() { note_tables(list_tables()); }

    // While paused, changes are not recorded (a replica running a schema statement).
    void set_paused(bool paused) { paused_ = paused; }

    // StatementObserver (master only: the replica runs schema statements itself).
    void before_schema_statement(sqlite3_stmt* stmt) override;
    void after_schema_statement(sqlite3_stmt* stmt) override;

  private:
    static void on_preupdate(void* self, sqlite3* db, int op, const char* database,
                             const char* table, long long old_rowid, long long new_rowid);
    std::map<std::string, std::string> list_tables();  // name -> pragma table_list type
    std::string sequence_state();
    void add_table_rows(const std::string& table);
    void check_addressable(const std::map<std::string, std::string>& tables);
    void note_tables(const std::map<std::string, std::string>& tables);

    Connection& conn_;
    EffectWriter out_;
    bool paused_ = false;
    std::string sequence_before_;
    bool has_virtual_tables_ = false;  // as of the last schema statement
    bool has_sequence_ = false;        // sqlite_sequence exists, as of the same
    std::optional<Error> failure_;     // why the hook stopped recording this entry

    // Between before_ and after_schema_statement.
    std::size_t schema_mark_ = 0;
    std::map<std::string, std::string> tables_before_;
};

}  // namespace sqlrep
