#include "shared/change_snapshot.hpp"

#include <memory>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "shared/change_events.hpp"
#include "shared/connection.hpp"
#include "shared/error.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"
#include "shared/table_shape.hpp"

namespace sqlrep {
namespace {

Value column_value(sqlite3_stmt* stmt, int column) {
    Value v;
    switch (sqlite3_column_type(stmt, column)) {
        case SQLITE_INTEGER:
            v.type = Value::Type::integer;
            v.integer = sqlite3_column_int64(stmt, column);
            break;
        case SQLITE_FLOAT:
            v.type = Value::Type::real;
            v.real = sqlite3_column_double(stmt, column);
            break;
        case SQLITE_TEXT: {
            auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
            v.type = Value::Type::text;
            v.bytes = std::string_view(
                text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
            break;
        }
        case SQLITE_BLOB: {
            auto data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
            v.type = Value::Type::blob;
            v.bytes = std::string_view(
                data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
            break;
        }
        default:
            break;
    }
    return v;
}

std::string column_string(sqlite3_stmt* stmt, int column) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)))
                : std::string();
}

}  // namespace

std::string sse_event(const std::string& json, std::optional<int64_t> id) {
    std::string out;
    out.reserve(json.size() + 32);
    out += "data: ";
    out += json;
    out += '\n';
    if (id) {
        out += "id: ";
        out += std::to_string(*id);
        out += '\n';
    }
    out += '\n';
    return out;
}

// Writes every current row of the chosen tables, as of one read transaction, to `out` as
// the snapshot's events (SSE text or one JSON per line). Returns the snapshot's index.
int64_t write_change_snapshot(Connection& conn, const ChangeFeedRequest& request, bool sse,
                              std::ostream& out) {
    ReadTransaction txn(conn);
    return conn.internal([&] {
        int64_t index = last_log_position(conn).index;
        auto emit = [&](const json::object& event) {
            std::string json = json::serialize(event);
            if (sse)
                out << sse_event(json, std::nullopt);
            else
                out << json << '\n';
        };
        // The user's tables, as the checksum and show_all see them.
        std::vector<std::pair<std::string, std::string>> tables;
        {
            auto list = conn.cached(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
                "'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' "
                "ORDER BY name");
            while (sqlite3_step(list.get()) == SQLITE_ROW) {
                std::string name = column_string(list.get(), 0);
                if (request.wants(name)) tables.emplace_back(name, column_string(list.get(), 1));
            }
        }
        json::array names;
        for (const auto& t : tables) names.emplace_back(t.first);
        emit({{"op", "snapshot"}, {"index", index}, {"tables", std::move(names)}});
        for (const auto& [name, sql] : tables)
            emit({{"op", "schema"}, {"index", index}, {"table", name}, {"sql", sql}});
        for (const auto& [name, sql] : tables) {
            ChangeTable shape = load_change_table(conn, name);
            std::string select = "SELECT ";
            const bool rowid = !shape.without_rowid && !shape.rowid_name.empty();
            if (rowid) select += shape.rowid_name + ", ";
            for (std::size_t i = 0; i < shape.columns.size(); ++i)
                select += (i ? ", " : "") + quote_identifier(shape.columns[i]);
            select += " FROM " + quote_identifier(name);
            sqlite3_stmt* raw = nullptr;
            if (sqlite3_prepare_v2(conn.handle(), select.c_str(), -1, &raw, nullptr) != SQLITE_OK)
                throw Error(ErrorKind::internal,
                            "snapshot of " + name + ": " + sqlite3_errmsg(conn.handle()));
            std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
            const int first = rowid ? 1 : 0;
            std::vector<Value> values(shape.columns.size());
            int rc;
            while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
                for (std::size_t i = 0; i < values.size(); ++i)
                    values[i] = column_value(raw, first + static_cast<int>(i));
                json::object event{{"op", "row"}, {"index", index}, {"table", name}};
                if (rowid) event["rowid"] = sqlite3_column_int64(raw, 0);
                if (!shape.key.empty()) {
                    json::object key;
                    for (std::size_t position : shape.key)
                        key[shape.columns[position]] = change_value_json(values[position]);
                    event["key"] = std::move(key);
                }
                event["new"] = row_json(shape, values);
                emit(event);
            }
            if (rc != SQLITE_DONE)
                throw Error(ErrorKind::internal,
                            "snapshot of " + name + ": " + sqlite3_errmsg(conn.handle()));
        }
        json::object end{{"op", "snapshot_end"}, {"index", index}};
        std::string json = json::serialize(end);
        if (sse)
            out << sse_event(json, index);
        else
            out << json << '\n';
        return index;
    });
}

}  // namespace sqlrep
