#include "shared/sql_dump.hpp"

#include <string>
#include <vector>

#include <sqlite3.h>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

constexpr std::size_t kFlushBytes = 256 * 1024;

// A prepared statement that finalizes itself.
class Query {
  public:
    Query(sqlite3* db, const std::string& sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
            throw Error(ErrorKind::internal, "dump: " + std::string(sqlite3_errmsg(db)));
    }
    ~Query() { sqlite3_finalize(stmt_); }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    bool step() {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc != SQLITE_DONE)
            throw Error(ErrorKind::internal, "dump: " + std::string(sqlite3_errmsg(db_)));
        return false;
    }
    std::string text(int column) const {
        auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return std::string(p ? p : "",
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }
    int integer(int column) const { return sqlite3_column_int(stmt_, column); }
    int columns() const { return sqlite3_column_count(stmt_); }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

std::string quote_identifier(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

std::string quote_literal(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + '\'';
}

struct TableInfo {
    std::string name;
    std::string sql;
    bool virtual_table = false;
};

}  // namespace

void write_sql_dump(sqlite3* db, const std::function<void(std::string_view)>& sink) {
    std::string out;
    auto flush = [&](bool always) {
        if (out.empty() || (!always && out.size() < kFlushBytes)) return;
        sink(out);
        out.clear();
    };
    out += "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n";

    // Which tables are shadow tables of a virtual table (their content is the virtual
    // table's business) and which have no rowid.
    std::vector<std::string> shadow;
    std::vector<std::string> without_rowid;
    {
        Query list(db, "SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main'");
        while (list.step()) {
            if (list.text(1) == "shadow") shadow.push_back(list.text(0));
            if (list.integer(2) != 0) without_rowid.push_back(list.text(0));
        }
    }
    auto listed = [](const std::vector<std::string>& names, const std::string& name) {
        for (const auto& n : names)
            if (sqlite3_stricmp(n.c_str(), name.c_str()) == 0) return true;
        return false;
    };

    std::vector<TableInfo> tables;
    {
        Query schema(db,
                     "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql NOT NULL "
                     "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                     "AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY rowid");
        while (schema.step()) {
            TableInfo t{schema.text(0), schema.text(1), false};
            if (listed(shadow, t.name)) continue;
            t.virtual_table = t.sql.rfind("CREATE VIRTUAL TABLE", 0) == 0;
            tables.push_back(std::move(t));
        }
    }

    for (const TableInfo& t : tables) {
        out += t.sql + ";\n";
        // Stored, writable columns (generated ones are computed again on load).
        std::vector<std::string> columns;
        std::vector<std::string> pk_types;
        int pk_columns = 0;
        {
            Query info(db, "SELECT name, type, pk, hidden FROM pragma_table_xinfo(" +
                               quote_literal(t.name) + ")");
            while (info.step()) {
                if (info.integer(3) != 0) continue;
                columns.push_back(info.text(0));
                if (info.integer(2) > 0) {
                    ++pk_columns;
                    pk_types.push_back(info.text(1));
                }
            }
        }
        if (columns.empty()) continue;
        // The rowid is written out unless the table has none or a column is its alias
        // (INTEGER PRIMARY KEY), and under whichever name no column hides.
        bool has_rowid = !listed(without_rowid, t.name) && !t.virtual_table;
        bool aliased = pk_columns == 1 && sqlite3_stricmp(pk_types[0].c_str(), "INTEGER") == 0;
        std::string rowid_name;
        if (has_rowid && !aliased) {
            for (const char* candidate : {"rowid", "_rowid_", "oid"}) {
                bool hidden = false;
                for (const auto& c : columns)
                    if (sqlite3_stricmp(c.c_str(), candidate) == 0) hidden = true;
                if (!hidden) {
                    rowid_name = candidate;
                    break;
                }
            }
        }
        std::string select = "SELECT ";
        std::string insert = "INSERT INTO " + quote_identifier(t.name) + "(";
        bool first = true;
        if (!rowid_name.empty()) {
            select += "quote(" + rowid_name + ")";
            insert += rowid_name;
            first = false;
        }
        for (const auto& c : columns) {
            if (!first) {
                select += ", ";
                insert += ",";
            }
            first = false;
            select += "quote(" + quote_identifier(c) + ")";
            insert += quote_identifier(c);
        }
        select += " FROM " + quote_identifier(t.name);
        insert += ") VALUES(";
        Query rows(db, select);
        while (rows.step()) {
            out += insert;
            for (int i = 0; i < rows.columns(); ++i) {
                if (i > 0) out += ',';
                out += rows.text(i);
            }
            out += ");\n";
            flush(false);
        }
    }

    // AUTOINCREMENT's counters, exactly as they were.
    {
        Query exists(db, "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'");
        if (exists.step()) {
            out += "DELETE FROM sqlite_sequence;\n";
            Query rows(db, "SELECT quote(name), quote(seq) FROM sqlite_sequence");
            while (rows.step())
                out += "INSERT INTO sqlite_sequence(name,seq) VALUES(" + rows.text(0) + "," +
                       rows.text(1) + ");\n";
        }
    }

    {
        Query rest(db,
                   "SELECT tbl_name, sql FROM sqlite_schema WHERE sql NOT NULL "
                   "AND type IN ('index', 'trigger', 'view') "
                   "AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' "
                   "AND tbl_name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY rowid");
        while (rest.step()) {
            if (listed(shadow, rest.text(0))) continue;
            out += rest.text(1) + ";\n";
        }
    }
    out += "COMMIT;\n";
    flush(true);
}

}  // namespace sqlrep
