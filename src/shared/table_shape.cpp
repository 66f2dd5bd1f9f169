#include "shared/table_shape.hpp"

#include <algorithm>
#include <utility>

#include <sqlite3.h>

#include "shared/connection.hpp"
#include "shared/error.hpp"
#include "shared/identifiers.hpp"

namespace sqlrep {
namespace {

std::string column_text(sqlite3_stmt* stmt, int column) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)))
                : std::string();
}

// table_xinfo's "hidden": 0 an ordinary column, 2 a VIRTUAL generated one, 3 STORED.
constexpr int kVirtualGenerated = 2;

}  // namespace

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    return out + "\"";
}

TableShape load_table_shape(Connection& conn, std::string_view table) {
    return conn.internal([&] {
        TableShape shape;
        shape.name = std::string(table);
        {
            auto list = conn.cached("SELECT wr FROM pragma_table_list(?1) WHERE schema = 'main'");
            sqlite3_bind_text(list.get(), 1, table.data(), static_cast<int>(table.size()),
                              SQLITE_TRANSIENT);
            if (sqlite3_step(list.get()) != SQLITE_ROW)
                throw Error(ErrorKind::diverged,
                            "no table named " + std::string(table) + " on this node");
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
            int hidden = sqlite3_column_int(info.get(), 2);
            all_names.push_back(name);
            if (hidden == kVirtualGenerated) continue;
            if (pk > 0) key.emplace_back(pk, shape.stored_columns.size());
            shape.writable.push_back(hidden == 0);
            shape.stored_columns.push_back(std::move(name));
        }
        if (shape.without_rowid) {
            std::sort(key.begin(), key.end());
            for (const auto& k : key) shape.key.push_back(k.second);
        } else {
            for (const char* candidate : {"rowid", "oid", "_rowid_"}) {
                bool hidden =
                    std::any_of(all_names.begin(), all_names.end(),
                                [&](const std::string& n) { return iequals(n, candidate); });
                if (!hidden) {
                    shape.rowid_name = candidate;
                    break;
                }
            }
        }
        return shape;
    });
}

}  // namespace sqlrep
