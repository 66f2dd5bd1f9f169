#pragma once
// Applies entry bodies (effects.hpp) to a database: the replica's way to follow the
// master, and the way any tool rebuilds a database from the log. Row changes are applied
// by rowid (or primary key in a WITHOUT ROWID table) with triggers disabled and foreign
// keys off on this connection, since the master's triggers and foreign-key actions
// already are among the effects. Schema statements run as text.
//
// Each row change is checked as it is applied: what this connection's own preupdate hook
// saw (the row as it was here, and as it is now) must equal the master's effect byte for
// byte. A row that differs, is missing or is in the way is divergence, caught at the
// entry that meets it.
//
// A delete followed by an insert into the same rowid table whose new row conflicts with
// the deleted one (same rowid, or equal non-NULL values under a plain UNIQUE index or
// primary key: what INSERT OR REPLACE records) is applied as one INSERT OR REPLACE. The
// check is the same: the hook must have seen exactly that delete and that insert, byte
// for byte, and nothing else (apply_replace says why that is as strong as two statements).
//
// Owns nothing but its caches; used by the thread that owns the connection, inside the
// caller's transaction.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/connection.hpp"
#include "shared/effect_recorder.hpp"
#include "shared/effects.hpp"
#include "shared/statement.hpp"
#include "shared/table_shape.hpp"

namespace sqlrep {

class EffectApplier {
  public:
    // Disables triggers on `conn` for good: it must be a connection that only applies.
    explicit EffectApplier(Connection& conn);
    EffectApplier(const EffectApplier&) = delete;
    EffectApplier& operator=(const EffectApplier&) = delete;

    // Applies every effect of one entry's body. Throws Error(diverged) naming `index` and
    // the effect when this database does not hold what the master's did.
    void apply(int64_t index, std::string_view body);

    // Forgets what it knows about tables (after this database was replaced wholesale).
    void forget_tables() { tables_.clear(); }

  private:
    struct Table {
        TableShape shape;
        // Prepared once per table and schema (tables_ is cleared by a schema statement).
        std::unique_ptr<Statement> insert, update, remove;
        std::unique_ptr<Statement> replace;  // rowid tables: INSERT OR REPLACE
        // Stored positions of the columns of each UNIQUE index (primary key included) on
        // plain columns and without a WHERE: equal values there are certain to conflict.
        std::vector<std::vector<std::size_t>> unique_keys;
    };

    const Table& table(std::string_view name);
    // Whether `remove` then `insert` may be applied as one INSERT OR REPLACE (see above).
    bool replaces(const Table& t, const Effect& remove, const Effect& insert) const;
    void apply_row_change(const Effect& effect);
    // `remove` and `insert` are consecutive in the body.
    void apply_replace(const Table& t, const Effect& remove, const Effect& insert);
    // Binds the new row of an insert or update to `stmt`; returns the last index bound.
    int bind_new_row(sqlite3_stmt* stmt, const TableShape& s, const Effect& effect);
    // Steps `stmt`, then requires the hook to have recorded exactly `expected`. A record
    // of nothing, or of `without_row`, means the row to change is not here.
    void run_checked(sqlite3_stmt* stmt, std::string_view expected,
                     std::string_view without_row = {});
    void apply_schema(const Effect& effect);
    void apply_sequence(const Effect& effect);

    Connection& conn_;
    EffectRecorder recorder_;
    std::map<std::string, Table, std::less<>> tables_;
    // Decoded effects, reused from entry to entry so their vectors keep their room.
    Effect current_, next_;
};

}  // namespace sqlrep
