#include "shared/effect_recorder.hpp"

#include <cstring>
#include <string_view>
#include <vector>

#define SQLITE_ENABLE_PREUPDATE_HOOK 1  // Debian's libsqlite3 has it; the header hides it
#include <sqlite3.h>

#include "shared/error.hpp"
#include "shared/statement.hpp"
#include "shared/table_shape.hpp"

namespace sqlrep {
namespace {

constexpr std::string_view kSequenceTable = "sqlite_sequence";

// SQLite's own tables (sqlite_stat1 and the like) that a schema statement such as ANALYZE
// fills: replicas running the statement fill them the same way.
bool is_sqlite_table(std::string_view name) { return name.rfind("sqlite_", 0) == 0; }

// The preupdate hook cannot report VIRTUAL generated columns (SQLite keeps them after all
// the others in a rowid table, and in place in a WITHOUT ROWID one): what it reports,
// in order, is every stored column in declaration order (TableShape::stored_columns).
template <typename Get>
int collect(sqlite3* db, Get get, std::vector<sqlite3_value*>& out) {
    out.clear();
    int count = sqlite3_preupdate_count(db);
    for (int i = 0; i < count; ++i) {
        sqlite3_value* v = nullptr;
        if (get(db, i, &v) == SQLITE_OK) out.push_back(v);
    }
    return static_cast<int>(out.size());
}

}  // namespace

EffectRecorder::EffectRecorder(Connection& conn) : conn_(conn) {
    sqlite3_preupdate_hook(conn_.handle(), &on_preupdate, this);
    note_tables(list_tables());
}

// Only a schema statement can add a virtual table or sqlite_sequence (the first
// AUTOINCREMENT table): knowing them from the last one spares every write a look.
void EffectRecorder::note_tables(const std::map<std::string, std::string>& tables) {
    has_virtual_tables_ = false;
    for (const auto& [name, type] : tables) has_virtual_tables_ |= type == "virtual";
    has_sequence_ = tables.count(std::string(kSequenceTable)) > 0;
}

EffectRecorder::~EffectRecorder() {
    sqlite3_preupdate_hook(conn_.handle(), nullptr, nullptr);
    if (conn_.statement_observer() == this) conn_.set_statement_observer(nullptr);
}

void EffectRecorder::on_preupdate(void* self, sqlite3* db, int op, const char* database,
                                  const char* table, long long old_rowid, long long new_rowid) {
    auto* recorder = static_cast<EffectRecorder*>(self);
    // Each node's own bookkeeping is no client's effect: appending to the log and trimming
    // it (which may delete far more than one entry holds), or its meta, are never recorded.
    // (sqlrep's replicated tables, such as a change sink's position in _sqlrep_cdc, are.)
    if (recorder->paused_ || recorder->failure_ || std::strcmp(database, "main") != 0 ||
        table == kSequenceTable || std::strcmp(table, "_sqlrep_log") == 0 ||
        std::strcmp(table, "_sqlrep_meta") == 0)
        return;
    EffectKind kind = op == SQLITE_INSERT   ? EffectKind::insert
                      : op == SQLITE_DELETE ? EffectKind::remove
                                            : EffectKind::update;
    static thread_local std::vector<sqlite3_value*> old_values, new_values;
    int columns = kind == EffectKind::insert ? collect(db, sqlite3_preupdate_new, new_values)
                                             : collect(db, sqlite3_preupdate_old, old_values);
    if (kind == EffectKind::update && collect(db, sqlite3_preupdate_new, new_values) != columns) {
        // Both images of a row have the same columns; should SQLite ever say otherwise, the
        // request fails rather than replicate half a change.
        recorder->failure_ =
            Error(ErrorKind::internal,
                  "SQLite reported rows of different widths for " + std::string(table));
        return;
    }
    recorder->out_.row_change(
        kind, table, old_rowid, new_rowid, columns,
        [](int i) { return old_values[static_cast<std::size_t>(i)]; },
        [](int i) { return new_values[static_cast<std::size_t>(i)]; });
    // An entry is one log row: past SQLite's length limit it could not be stored. Stop
    // the statement now rather than hold ever more of its changes in memory.
    if (recorder->out_.size() > kMaxEntryBytes) {
        recorder->failure_ =
            Error(ErrorKind::too_large,
                  "the write changes more than " + std::to_string(kMaxValueBytes >> 20) +
                      " MiB of rows, more than one entry holds; split it into smaller writes");
        sqlite3_interrupt(db);
    }
}

void EffectRecorder::begin_entry() {
    out_.clear();
    failure_.reset();
    paused_ = false;
    sequence_before_ = sequence_state();
}

std::string EffectRecorder::finish_entry() {
    // FTS3/4/5 keep new terms in memory and write them to their shadow tables when a
    // savepoint opens or the transaction commits: make them write now, while recording,
    // so that they belong to this entry and not to nobody's.
    if (has_virtual_tables_) {
        conn_.exec_internal("SAVEPOINT sqlrep_flush");
        conn_.exec_internal("RELEASE sqlrep_flush");
    }
    if (failure_) throw *failure_;
    std::string after = sequence_state();
    if (after != sequence_before_) out_.append_raw(after);
    return out_.take();
}

void EffectRecorder::abandon() {
    out_.clear();
    failure_.reset();
}

// The whole of sqlite_sequence as one encoded effect, or "" when the table does not exist.
std::string EffectRecorder::sequence_state() {
    // The flag can only be stale the other way (a request that created the table failed
    // and rolled it back), so the table is looked up only when it says yes.
    if (!has_sequence_ ||
        sqlite3_table_column_metadata(conn_.handle(), "main", kSequenceTable.data(), nullptr,
                                      nullptr, nullptr, nullptr, nullptr, nullptr) != SQLITE_OK)
        return "";
    return conn_.internal([&] {
        EffectWriter w;
        w.begin_sequence();
        auto stmt = conn_.cached("SELECT rowid, name, seq FROM sqlite_sequence ORDER BY rowid");
        while (sqlite3_step(stmt.get()) == SQLITE_ROW)
            w.sequence_row(sqlite3_column_int64(stmt.get(), 0), sqlite3_column_value(stmt.get(), 1),
                           sqlite3_column_value(stmt.get(), 2));
        return w.take();
    });
}

std::map<std::string, std::string> EffectRecorder::list_tables() {
    return conn_.internal([&] {
        std::map<std::string, std::string> out;
        auto stmt = conn_.cached("SELECT name, type FROM pragma_table_list WHERE schema = 'main'");
        while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
            auto name = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
            auto type = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1));
            out.emplace(name ? name : "", type ? type : "");
        }
        return out;
    });
}

void EffectRecorder::before_schema_statement(sqlite3_stmt*) {
    schema_mark_ = out_.size();
    tables_before_ = list_tables();
}

// A schema statement becomes: its text (or, for CREATE TABLE ... AS SELECT, the created
// table's definition and its rows), then the row changes it made to tables that existed
// before and after it (a DROP TABLE's foreign-key actions on other tables).
void EffectRecorder::after_schema_statement(sqlite3_stmt* stmt) {
    std::map<std::string, std::string> tables_after = list_tables();
    std::string during = out_.bytes().substr(schema_mark_);
    out_.truncate(schema_mark_);

    std::vector<std::string> created;
    for (const auto& [name, type] : tables_after)
        if (!tables_before_.count(name) && !is_sqlite_table(name)) created.push_back(name);
    bool dropped = false;  // ALTER TABLE ... RENAME TO also makes one new table
    for (const auto& [name, type] : tables_before_) dropped |= !tables_after.count(name);
    check_addressable(tables_after);
    note_tables(tables_after);

    // One new plain table, and none gone, is CREATE TABLE, with or without AS SELECT:
    // SQLite keeps its definition without the SELECT, and its rows (none without one)
    // travel as effects. Anything else (a rename, a virtual table with its shadow tables,
    // an index, a view...) replays as the statement's own text.
    bool one_table = created.size() == 1 && !dropped && tables_after[created[0]] == "table";
    if (one_table) {
        std::string definition = conn_.internal([&] {
            auto q =
                conn_.cached("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1");
            sqlite3_bind_text(q.get(), 1, created[0].c_str(), -1, SQLITE_TRANSIENT);
            if (sqlite3_step(q.get()) != SQLITE_ROW)
                throw Error(ErrorKind::internal, "a created table has no definition");
            auto text = reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 0));
            return std::string(text ? text : "");
        });
        out_.schema(definition);
        add_table_rows(created[0]);
    } else {
        out_.schema(sqlite3_sql(stmt));
    }

    EffectReader reader(during);
    Effect effect;
    while (reader.next(effect)) {
        std::string table(effect.table);
        if (is_sqlite_table(table) || !tables_before_.count(table) || !tables_after.count(table))
            continue;
        out_.append_raw(effect.raw);
    }
    tables_before_.clear();
}

// Every row of a table just created by CREATE TABLE ... AS SELECT, as inserts.
void EffectRecorder::add_table_rows(const std::string& table) {
    TableShape shape = load_table_shape(conn_, table);
    if (shape.without_rowid) return;  // CREATE TABLE ... AS SELECT makes rowid tables only
    std::string sql = "SELECT " + shape.rowid_name;
    for (const std::string& column : shape.stored_columns) sql += ", " + quote_identifier(column);
    sql += " FROM " + quote_identifier(table) + " ORDER BY 1";
    conn_.internal([&] {
        Statement rows(conn_.handle(), sql, "reading a new table's rows");
        int columns = static_cast<int>(shape.stored_columns.size());
        while (rows.step()) {
            int64_t rowid = sqlite3_column_int64(rows.get(), 0);
            out_.row_change(
                EffectKind::insert, table, rowid, rowid, columns,
                [](int) { return static_cast<sqlite3_value*>(nullptr); },
                [&](int i) { return sqlite3_column_value(rows.get(), i + 1); });
        }
    });
}

// A rowid table whose columns are named rowid, oid and _rowid_ hides its rowid from every
// statement: replicas could not address its rows, so the master refuses to make one.
void EffectRecorder::check_addressable(const std::map<std::string, std::string>& tables) {
    for (const auto& [name, type] : tables) {
        if (type != "table" || is_sqlite_table(name) || name.rfind(kReservedPrefix, 0) == 0)
            continue;
        TableShape shape = load_table_shape(conn_, name);
        if (!shape.without_rowid && shape.rowid_name.empty())
            throw Error(ErrorKind::bad_request,
                        "table " + name +
                            " has columns named rowid, oid and _rowid_, which hide its rowid: "
                            "sqlrep cannot replicate its rows; rename one of them");
    }
}

}  // namespace sqlrep
