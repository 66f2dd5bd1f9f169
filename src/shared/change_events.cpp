#include "shared/change_events.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <utility>

#include <sqlite3.h>

#include "shared/base64.hpp"
#include "shared/connection.hpp"
#include "shared/identifiers.hpp"
#include "shared/statement_policy.hpp"

namespace sqlrep {
namespace {

std::string column_text(sqlite3_stmt* stmt, int column) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)))
                : std::string();
}

// table_xinfo's "hidden": 2 is a VIRTUAL generated column, which the effects do not carry.
constexpr int kVirtualGenerated = 2;

const char* op_name(EffectKind kind) {
    switch (kind) {
        case EffectKind::insert:
            return "insert";
        case EffectKind::update:
            return "update";
        case EffectKind::remove:
            return "delete";
        case EffectKind::restore:
            return "restore";
        default:
            return "schema";
    }
}

}  // namespace

ChangeTable load_change_table(Connection& conn, std::string_view table) {
    return conn.internal([&] {
        ChangeTable shape;
        shape.name = std::string(table);
        {
            auto list = conn.cached("SELECT wr FROM pragma_table_list(?1) WHERE schema = 'main'");
            sqlite3_bind_text(list.get(), 1, table.data(), static_cast<int>(table.size()),
                              SQLITE_TRANSIENT);
            if (sqlite3_step(list.get()) != SQLITE_ROW) return shape;
            shape.exists = true;
            shape.without_rowid = sqlite3_column_int(list.get(), 0) != 0;
        }
        std::vector<std::pair<int, std::size_t>> key;  // (position in the key, stored position)
        std::vector<std::string> all_names;
        auto info = conn.cached("SELECT name, pk, hidden FROM pragma_table_xinfo(?1, 'main')");
        sqlite3_bind_text(info.get(), 1, table.data(), static_cast<int>(table.size()),
                          SQLITE_TRANSIENT);
        while (sqlite3_step(info.get()) == SQLITE_ROW) {
            std::string name = column_text(info.get(), 0);
            int pk = sqlite3_column_int(info.get(), 1);
            all_names.push_back(name);
            if (sqlite3_column_int(info.get(), 2) == kVirtualGenerated) continue;
            if (pk > 0) key.emplace_back(pk, shape.columns.size());
            shape.columns.push_back(std::move(name));
        }
        std::sort(key.begin(), key.end());
        for (const auto& k : key) shape.key.push_back(k.second);
        if (!shape.without_rowid) {
            for (const char* candidate : {"rowid", "oid", "_rowid_"}) {
                if (std::none_of(all_names.begin(), all_names.end(),
                                 [&](const std::string& n) { return iequals(n, candidate); })) {
                    shape.rowid_name = candidate;
                    break;
                }
            }
        }
        return shape;
    });
}

json::value change_value_json(const Value& value) {
    switch (value.type) {
        case Value::Type::integer:
            return value.integer;
        case Value::Type::real:
            // JSON has no infinity or NaN; the API shows them as null too.
            if (!std::isfinite(value.real)) return nullptr;
            return value.real;
        case Value::Type::text:
            return json::string(value.bytes);
        case Value::Type::blob:
            return json::object{{"blob", base64_encode(std::string(value.bytes))}};
        default:
            return nullptr;
    }
}

std::string iso8601_utc(int64_t time_ms) {
    int64_t seconds = time_ms / 1000;
    int64_t millis = time_ms % 1000;
    if (millis < 0) {
        millis += 1000;
        seconds -= 1;
    }
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];  // room for any int year, which GCC cannot rule out
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    return buf;
}

json::object row_json(const ChangeTable& table, const std::vector<Value>& values) {
    json::object row;
    // A table whose current columns do not match in number was altered since: names hold
    // for the leading columns only when columns were added (ADD COLUMN appends).
    const bool names_hold = table.exists && values.size() <= table.columns.size();
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::string name = names_hold ? table.columns[i] : "$" + std::to_string(i);
        row[name] = change_value_json(values[i]);
    }
    return row;
}

const ChangeTable& ChangeEvents::table(Connection& conn, std::string_view name) {
    auto it = tables_.find(name);
    if (it == tables_.end())
        it = tables_.emplace(std::string(name), load_change_table(conn, name)).first;
    return it->second;
}

std::vector<json::object> ChangeEvents::of_entry(Connection& conn, const Entry& entry) {
    std::vector<json::object> events;
    each_of_entry(conn, entry, [&](json::object& event) { events.push_back(std::move(event)); });
    return events;
}

void ChangeEvents::each_of_entry(Connection& conn, const Entry& entry,
                                 const std::function<void(json::object&)>& take) {
    int64_t position = 0;
    EffectReader reader(entry.body);
    Effect effect;
    const std::string time = iso8601_utc(entry.time_ms);
    while (reader.next(effect)) {
        if (!effect.is_row_change() && effect.kind != EffectKind::schema &&
            effect.kind != EffectKind::restore)
            continue;
        // sqlrep's own rows (a change sink's position in _sqlrep_cdc) are not user data.
        if (effect.is_row_change() && is_reserved_name(effect.table)) continue;
        json::object event;
        event["index"] = entry.index;
        event["position"] = position++;
        event["term"] = entry.term;
        event["time_ms"] = entry.time_ms;
        event["time"] = time;
        event["op"] = op_name(effect.kind);
        if (effect.kind == EffectKind::restore) {
            // The whole database was replaced: no row changes say how. A consumer that
            // keeps a copy starts it again (snapshot=true from the next index).
            event["digest"] = json::string(effect.digest);
            forget();
            take(event);
            continue;
        }
        if (effect.kind == EffectKind::schema) {
            event["sql"] = json::string(effect.sql);
            // Later effects may name tables this statement created, altered or dropped.
            forget();
            take(event);
            continue;
        }
        const ChangeTable& shape = table(conn, effect.table);
        event["table"] = json::string(effect.table);
        const bool has_old = effect.kind != EffectKind::insert;
        const bool has_new = effect.kind != EffectKind::remove;
        if (!shape.without_rowid) {
            event["rowid"] = has_new ? effect.new_rowid : effect.old_rowid;
            if (effect.kind == EffectKind::update && effect.old_rowid != effect.new_rowid)
                event["old_rowid"] = effect.old_rowid;
        }
        const std::vector<Value>& current = has_new ? effect.new_values : effect.old_values;
        if (!shape.key.empty() && shape.exists && current.size() <= shape.columns.size()) {
            json::object key;
            bool complete = true;
            for (std::size_t position : shape.key) {
                if (position >= current.size()) {
                    complete = false;
                    break;
                }
                key[shape.columns[position]] = change_value_json(current[position]);
            }
            if (complete) event["key"] = std::move(key);
        }
        event["old"] = has_old ? json::value(row_json(shape, effect.old_values)) : nullptr;
        event["new"] = has_new ? json::value(row_json(shape, effect.new_values)) : nullptr;
        take(event);
    }
}

}  // namespace sqlrep
