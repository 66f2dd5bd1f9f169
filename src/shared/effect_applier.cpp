#include "shared/effect_applier.hpp"

#include <cstring>

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

// Whether two values are the same value: type and bytes (reals bit for bit).
bool same_value(const Value& a, const Value& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
        case Value::Type::null:
            return true;
        case Value::Type::integer:
            return a.integer == b.integer;
        case Value::Type::real:
            return std::memcmp(&a.real, &b.real, sizeof a.real) == 0;
        case Value::Type::text:
        case Value::Type::blob:
            return a.bytes == b.bytes;
    }
    return false;
}

// The stored positions of the key columns of every UNIQUE index of `s` that a REPLACE
// certainly conflicts on when the values are equal: no WHERE (a partial index may not
// hold the row), no expression, no VIRTUAL generated column (effects do not carry those).
std::vector<std::vector<std::size_t>> load_unique_keys(Connection& conn, const TableShape& s) {
    return conn.internal([&] {
        // table_xinfo's cid, which index_info uses, counts VIRTUAL columns too.
        std::vector<int> stored_position;
        {
            auto info = conn.cached("SELECT hidden FROM pragma_table_xinfo(?1, 'main')");
            sqlite3_bind_text(info.get(), 1, s.name.c_str(), -1, SQLITE_TRANSIENT);
            int stored = 0;
            while (sqlite3_step(info.get()) == SQLITE_ROW)
                stored_position.push_back(sqlite3_column_int(info.get(), 0) == 2 ? -1 : stored++);
        }
        std::vector<std::string> indexes;
        {
            auto list = conn.cached(
                "SELECT name FROM pragma_index_list(?1, 'main') WHERE \"unique\" AND NOT partial");
            sqlite3_bind_text(list.get(), 1, s.name.c_str(), -1, SQLITE_TRANSIENT);
            while (sqlite3_step(list.get()) == SQLITE_ROW)
                indexes.emplace_back(
                    reinterpret_cast<const char*>(sqlite3_column_text(list.get(), 0)));
        }
        std::vector<std::vector<std::size_t>> keys;
        for (const std::string& index : indexes) {
            auto info = conn.cached("SELECT cid FROM pragma_index_info(?1, 'main')");
            sqlite3_bind_text(info.get(), 1, index.c_str(), -1, SQLITE_TRANSIENT);
            std::vector<std::size_t> key;
            bool plain = true;
            while (sqlite3_step(info.get()) == SQLITE_ROW) {
                int cid = sqlite3_column_int(info.get(), 0);
                if (cid < 0 || static_cast<std::size_t>(cid) >= stored_position.size() ||
                    stored_position[static_cast<std::size_t>(cid)] < 0)
                    plain = false;
                else
                    key.push_back(
                        static_cast<std::size_t>(stored_position[static_cast<std::size_t>(cid)]));
            }
            if (plain && !key.empty()) keys.push_back(std::move(key));
        }
        return keys;
    });
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
    if (!s.without_rowid) {
        t.replace = prepare("INSERT OR REPLACE INTO " + quoted + " (" + columns + ") VALUES (" +
                            placeholders(bound) + ")");
        t.unique_keys = load_unique_keys(conn_, s);
    }
    t.update = prepare("UPDATE " + quoted + " SET " + assignments + " WHERE " + key);
    t.remove = prepare("DELETE FROM " + quoted + " WHERE " + key);
    return tables_.emplace(std::string(name), std::move(t)).first->second;
}

void EffectApplier::apply(int64_t index, std::string_view body) {
    EffectReader reader(body);
    Effect* effect = &current_;
    Effect* next = &next_;
    bool have_next = false;     // `next` holds the effect after `effect`, already decoded
    bool reading_next = false;  // decoding `next` (a malformed one is the body's fault)
    bool replacing = false;     // applying `effect` and `next` as one INSERT OR REPLACE
    try {
        for (;;) {
            if (have_next) {
                std::swap(effect, next);
                have_next = false;
            } else {
                effect->raw = {};  // a malformed effect is not described as the one before it
                if (!reader.next(*effect)) break;
            }
            switch (effect->kind) {
                case EffectKind::remove: {
                    const Table& t = table(effect->table);
                    reading_next = true;
                    have_next = reader.next(*next);
                    reading_next = false;
                    if (have_next && replaces(t, *effect, *next)) {
                        have_next = false;
                        replacing = true;
                        apply_replace(t, *effect, *next);
                        replacing = false;
                        break;
                    }
                    apply_row_change(*effect);
                    break;
                }
                case EffectKind::insert:
                case EffectKind::update:
                    apply_row_change(*effect);
                    break;
                case EffectKind::schema:
                    apply_schema(*effect);
                    break;
                case EffectKind::sequence:
                    apply_sequence(*effect);
                    break;
                case EffectKind::restore:
                    // The replica's applier installs a snapshot instead (applier.cpp).
                    throw Error(ErrorKind::internal,
                                "a restore entry replaces the whole database: it is installed "
                                "from a snapshot, not applied");
            }
        }
    } catch (const Error& e) {
        // The effect that failed: of a replace, the insert when the master's delete was
        // recorded here as it is (so the insert, or a row in its way, made the difference).
        const Effect& failed =
            replacing && recorder_.recorded().find(effect->raw) != std::string::npos ? *next
                                                                                     : *effect;
        std::string what = reading_next || failed.raw.empty() ? "its body" : describe(failed);
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

int EffectApplier::bind_new_row(sqlite3_stmt* stmt, const TableShape& s, const Effect& effect) {
    int n = 0;
    if (!s.without_rowid) sqlite3_bind_int64(stmt, ++n, effect.new_rowid);
    for (std::size_t i = 0; i < s.stored_columns.size(); ++i)
        if (s.writable[i]) bind(stmt, ++n, effect.new_values[i]);
    return n;
}

void EffectApplier::run_checked(sqlite3_stmt* stmt, std::string_view expected,
                                std::string_view without_row) {
    recorder_.clear();
    int rc = conn_.internal([&] { return sqlite3_step(stmt); });
    std::string failure = rc == SQLITE_DONE ? "" : sqlite3_errmsg(conn_.handle());
    sqlite3_reset(stmt);  // bound values point into the body: they are rebound before reuse
    if (rc != SQLITE_DONE) throw Error(ErrorKind::diverged, failure);
    const std::string& recorded = recorder_.recorded();
    if (recorded != expected)
        throw Error(ErrorKind::diverged, recorded.empty() || recorded == without_row
                                             ? "the row is not here"
                                             : "the row here differs from the master's");
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
    int n = effect.kind == EffectKind::remove ? 0 : bind_new_row(stmt, s, effect);
    if (effect.kind != EffectKind::insert) {  // which row
        if (!s.without_rowid) sqlite3_bind_int64(stmt, ++n, effect.old_rowid);
        for (std::size_t k : s.key) bind(stmt, ++n, effect.old_values[k]);
    }
    run_checked(stmt, effect.raw);
}

bool EffectApplier::replaces(const Table& t, const Effect& remove, const Effect& insert) const {
    if (!t.replace || insert.kind != EffectKind::insert || insert.table != remove.table)
        return false;
    const std::size_t width = t.shape.stored_columns.size();
    if (remove.old_values.size() != width || insert.new_values.size() != width) return false;
    if (remove.old_rowid == insert.new_rowid) return true;
    for (const auto& key : t.unique_keys) {
        bool equal = true;
        for (std::size_t k : key) {
            const Value& old_value = remove.old_values[k];
            // NULLs never conflict in a UNIQUE index.
            equal = equal && old_value.type != Value::Type::null &&
                    same_value(old_value, insert.new_values[k]);
        }
        if (equal) return true;
    }
    return false;
}

// The master's delete and the insert that took its row's place, as one INSERT OR REPLACE.
// Given this database as the master had it before the delete, the new row conflicts with
// the deleted row only (the master inserted it right after that delete), so the statement
// deletes that row and inserts the new one, and the hook records both effects exactly as
// the master did. Any other outcome (no row deleted, another row, other values, one more
// row in the way) records something else and is divergence, as separate statements
// would have found.
void EffectApplier::apply_replace(const Table& t, const Effect& remove, const Effect& insert) {
    sqlite3_stmt* stmt = t.replace->get();
    bind_new_row(stmt, t.shape, insert);
    run_checked(stmt, std::string_view(remove.raw.data(), remove.raw.size() + insert.raw.size()),
                insert.raw);
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
