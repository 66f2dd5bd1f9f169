#include "shared/effect_applier.hpp"

#include <sqlite3.h>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

void bind(sqlite3_stmt* stmt, int index, const Value& v) {
    switch (v.type) {
        case Value::Type::null:
            sqlite3_bind_null(stmt, index);
            break;
        case Value::Type::integer:
            sqlite3_bind_int64(stmt, index, v.integer);
            break;
        case Value::Type::real:
            sqlite3_bind_double(stmt, index, v.real);
            break;
        case Value::Type::text:
            sqlite3_bind_text64(stmt, index, v.bytes.data(), v.bytes.size(), SQLITE_STATIC,
                                SQLITE_UTF8);
            break;
        case Value::Type::blob:
            sqlite3_bind_blob64(stmt, index, v.bytes.data(), v.bytes.size(), SQLITE_STATIC);
            break;
    }
}

std::string placeholders(std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += i ? ", ?" : "?";
    return out;
}

}  // namespace

EffectApplier::EffectApplier(Connection& conn) : conn_(conn), recorder_(conn) {
    sqlite3_db_config(conn_.handle(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    conn_.exec_internal("PRAGMA foreign_keys = OFF");
}

// The statements that apply one table's row changes, built once per table and schema.
const EffectApplier::Table& EffectApplier::table(std::string_view name) {
    if (auto it = tables_.find(name); it != tables_.end()) return it->second;
    Table t;
    t.shape = load_table_shape(conn_, name);
    const TableShape& s = t.shape;
    if (!s.without_rowid && s.rowid_name.empty())
        throw Error(ErrorKind::diverged, "table " + s.name +
                                             " hides its rowid behind columns "
                                             "named rowid, oid and _rowid_");
    std::string quoted = quote_identifier(s.name);
    std::string columns, assignments, key;
    std::size_t bound = 0;
    if (!s.without_rowid) {
        columns = s.rowid_name;
        assignments = s.rowid_name + " = ?";
        key = s.rowid_name + " = ?";
        ++bound;
    }
    for (std::size_t i = 0; i < s.stored_columns.size(); ++i) {
        if (!s.writable[i]) continue;
        std::string column = quote_identifier(s.stored_columns[i]);
        columns += (bound ? ", " : "") + column;
        assignments += (bound ? ", " : "") + column + " = ?";
        ++bound;
    }
    for (std::size_t k : s.key)
        key += (key.empty() ? "" : " AND ") + quote_identifier(s.stored_columns[k]) + " = ?";
    auto prepare = [&](const std::string& sql) {
        return conn_.internal([&] {
            return std::make_unique<Statement>(conn_.handle(), sql, "applying an effect",
                                               SQLITE_PREPARE_PERSISTENT);
        });
    };
    t.insert = prepare("INSERT INTO " + quoted + " (" + columns + ") VALUES (" +
                       placeholders(bound) + ")");
    t.update = prepare("UPDATE " + quoted + " SET " + assignments + " WHERE " + key);
    t.remove = prepare("DELETE FROM " + quoted + " WHERE " + key);
    return tables_.emplace(std::string(name), std::move(t)).first->second;
}

void EffectApplier::apply(int64_t index, std::string_view body) {
    EffectReader reader(body);
    Effect effect;
    try {
        for (;;) {
            effect.raw = {};  // a malformed effect is not described as the one before it
            if (!reader.next(effect)) break;
            switch (effect.kind) {
                case EffectKind::insert:
                case EffectKind::update:
                case EffectKind::remove:
                    apply_row_change(effect);
                    break;
                case EffectKind::schema:
                    apply_schema(effect);
                    break;
                case EffectKind::sequence:
                    apply_sequence(effect);
                    break;
            }
        }
    } catch (const Error& e) {
        std::string what = effect.raw.empty() ? "its body" : describe(effect);
        throw Error(ErrorKind::diverged, "entry " + std::to_string(index) + " (" + what +
                                             ") does not apply here as on the master: " + e.what());
    }
}

// Runs a schema statement as the master did. What it writes by itself (a virtual table's
// shadow rows) is not compared: the master left those out of the entry.
void EffectApplier::apply_schema(const Effect& effect) {
    struct Unpause {
        EffectRecorder& r;
        ~Unpause() { r.set_paused(false); }
    } unpause{recorder_};
    recorder_.set_paused(true);
    tables_.clear();
    conn_.exec_internal(std::string(effect.sql));
}

// Applies one row change and checks that this connection changed exactly that row, from
// exactly the values the master had to exactly the values it wrote.
void EffectApplier::apply_row_change(const Effect& effect) {
    const Table& t = table(effect.table);
    const TableShape& s = t.shape;
    std::size_t width =
        effect.kind == EffectKind::insert ? effect.new_values.size() : effect.old_values.size();
    if (width != s.stored_columns.size())
        throw Error(ErrorKind::diverged, "the master's row has " + std::to_string(width) +
                                             " stored columns, this table " +
                                             std::to_string(s.stored_columns.size()));
    sqlite3_stmt* stmt = effect.kind == EffectKind::insert   ? t.insert->get()
                         : effect.kind == EffectKind::update ? t.update->get()
                                                             : t.remove->get();
    int n = 0;
    if (effect.kind != EffectKind::remove) {  // the new row
        if (!s.without_rowid) sqlite3_bind_int64(stmt, ++n, effect.new_rowid);
        for (std::size_t i = 0; i < s.stored_columns.size(); ++i)
            if (s.writable[i]) bind(stmt, ++n, effect.new_values[i]);
    }
    if (effect.kind != EffectKind::insert) {  // which row
        if (!s.without_rowid) sqlite3_bind_int64(stmt, ++n, effect.old_rowid);
        for (std::size_t k : s.key) bind(stmt, ++n, effect.old_values[k]);
    }
    recorder_.clear();
    int rc = conn_.internal([&] { return sqlite3_step(stmt); });
    std::string failure = rc == SQLITE_DONE ? "" : sqlite3_errmsg(conn_.handle());
    sqlite3_reset(stmt);  // bound values point into the body: they are rebound before reuse
    if (rc != SQLITE_DONE) throw Error(ErrorKind::diverged, failure);
    if (recorder_.recorded() != effect.raw)
        throw Error(ErrorKind::diverged, recorder_.recorded().empty()
                                             ? "the row is not here"
                                             : "the row here differs from the master's");
}

// sqlite_sequence becomes exactly the master's.
void EffectApplier::apply_sequence(const Effect& effect) {
    conn_.internal([&] {
        conn_.exec_internal("DELETE FROM sqlite_sequence");
        auto insert =
            conn_.cached("INSERT INTO sqlite_sequence (rowid, name, seq) VALUES (?, ?, ?)");
        for (const SequenceRow& row : effect.sequence) {
            sqlite3_bind_int64(insert.get(), 1, row.rowid);
            bind(insert.get(), 2, row.name);
            bind(insert.get(), 3, row.seq);
            if (sqlite3_step(insert.get()) != SQLITE_DONE)
                throw Error(ErrorKind::diverged, sqlite3_errmsg(conn_.handle()));
            sqlite3_reset(insert.get());
        }
    });
}

}  // namespace sqlrep
