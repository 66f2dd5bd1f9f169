#include "database_dump.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include <sqlite3.h>

#include "shared/error.hpp"
#include "sql_text.hpp"

namespace sqlrep::shell {

namespace {

constexpr size_t kRowsPerInsert = 50;
constexpr size_t kInsertBytes = 256 * 1024;
constexpr int kAttempts = 5;

// What the dump needs to know of the schema, sqlrep's reserved tables left out: the
// queries that read it, first in every request, so the rows read with them belong to the
// same schema.
constexpr const char* kSchemaQueries =
    "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE '\\_sqlrep\\_%' "
    "ESCAPE '\\' AND tbl_name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY rowid;\n"
    "SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main';\n"
    "SELECT m.name, p.name, p.type, p.pk FROM sqlite_schema AS m "
    "JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table' AND "
    "m.name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY m.name, p.cid;\n";
constexpr size_t kSchemaStatements = 3;

std::string text_of(const json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : std::string();
}

struct Column {
    std::string name;
    std::string type;
    int64_t pk = 0;
};

struct TableInfo {
    std::string name;
    std::string sql;
    bool without_rowid = false;
    bool is_virtual = false;
    std::vector<Column> columns;
    std::string rowid;  // the name the rowid goes by in the INSERTs; "" when not written
};

struct Schema {
    std::vector<TableInfo> tables;   // in creation order, those whose rows we dump
    std::vector<std::string> later;  // index, trigger and view SQL, in creation order
    bool has_sequence = false;       // sqlite_sequence exists
};

// A rowid table names its rowid unless an INTEGER PRIMARY KEY column already is it;
// a column called "rowid" hides that name, so take one of the other two.
std::string rowid_name(const TableInfo& table) {
    if (table.without_rowid || table.is_virtual) return "";
    int pk_columns = 0;
    bool integer_pk = false;
    for (const Column& c : table.columns) {
        if (c.pk == 0) continue;
        ++pk_columns;
        std::string upper;
        for (char ch : c.type)
            upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        integer_pk = upper == "INTEGER";
    }
    if (pk_columns == 1 && integer_pk) return "";
    for (const char* name : {"rowid", "_rowid_", "oid"}) {
        bool taken = false;
        for (const Column& c : table.columns) {
            std::string lower;
            for (char ch : c.name)
                lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            taken = taken || lower == name;
        }
        if (!taken) return name;
    }
    return "";  // the node refuses to create such a table: its rowid cannot be named
}

Schema read_schema(const json::array& results) {
    auto rows = [&](size_t i) -> const json::array& {
        return results.at(i).as_object().at("rows").as_array();
    };
    std::map<std::string, std::pair<std::string, bool>> listed;  // name -> (type, wr)
    for (const json::value& r : rows(1)) {
        const json::array& row = r.as_array();
        listed[text_of(row.at(0))] = {text_of(row.at(1)),
                                      row.at(2).is_int64() && row.at(2).get_int64() != 0};
    }
    std::map<std::string, std::vector<Column>> columns;
    for (const json::value& r : rows(2)) {
        const json::array& row = r.as_array();
        columns[text_of(row.at(0))].push_back({text_of(row.at(1)), text_of(row.at(2)),
                                               row.at(3).is_int64() ? row.at(3).get_int64() : 0});
    }
    Schema schema;
    for (const json::value& r : rows(0)) {
        const json::array& row = r.as_array();
        std::string type = text_of(row.at(0));
        std::string name = text_of(row.at(1));
        std::string sql = text_of(row.at(3));
        if (type == "table") {
            if (name == "sqlite_sequence") {
                schema.has_sequence = true;
                continue;
            }
            if (name.rfind("sqlite_", 0) == 0) continue;  // sqlite_stat*: ANALYZE's estimates
            auto [list_type, without_rowid] = listed[name];
            if (list_type == "shadow") continue;
            TableInfo table;
            table.name = name;
            table.sql = sql;
            table.without_rowid = without_rowid;
            table.is_virtual = list_type == "virtual";
            table.columns = columns[name];
            table.rowid = rowid_name(table);
            schema.tables.push_back(std::move(table));
        } else if (!sql.empty()) {
            schema.later.push_back(sql);  // an automatic index has no SQL
        }
    }
    return schema;
}

// Each value as SQLite's quote() writes it, but a finite real as itself: quote() loses the
// sign of -0.0, and the node sends a real as the exact shortest text (an infinity would
// come as null, so those go through quote(), as Inf).
std::string data_query(const TableInfo& table) {
    std::string select;
    if (!table.rowid.empty()) select = table.rowid;
    for (const Column& c : table.columns) {
        std::string name = quote_identifier(c.name);
        select += (select.empty() ? "" : ", ") + std::string("CASE WHEN typeof(") + name +
                  ") = 'real' AND abs(" + name + ") < 1e999 THEN " + name + " ELSE quote(" + name +
                  ") END";
    }
    std::string sql = "SELECT " + select + " FROM " + quote_identifier(table.name);
    if (!table.rowid.empty()) sql += " ORDER BY " + table.rowid;
    return sql + ";\n";
}

// Writes reals as SQL that SQLite reads back as exactly the same double. SQLite's own
// text-to-double conversion is not correctly rounded for every double (about 1 in 400
// random doubles with Debian 12's 3.40), so each literal is checked by reading it back with
// the same library, in memory; one that does not come back exact is written as an exact
// expression: an integer mantissa scaled by powers of two, which double arithmetic
// computes without rounding.
class RealWriter {
  public:
    RealWriter() {
        if (sqlite3_open(":memory:", &db_) != SQLITE_OK)
            throw Error(ErrorKind::internal, "cannot open an in-memory SQLite database");
    }
    ~RealWriter() { sqlite3_close(db_); }
    RealWriter(const RealWriter&) = delete;
    RealWriter& operator=(const RealWriter&) = delete;

    std::string literal(double d) {
        if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
        char buffer[64];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
        std::string text(buffer, ec == std::errc() ? end : buffer);
        if (text.find_first_of(".e") == std::string::npos) text += ".0";
        if (reads_back(text, d)) return text;
        return exact_expression(d);
    }

  private:
    bool reads_back(const std::string& text, double d) {
        sqlite3_stmt* stmt = nullptr;
        std::string sql = "SELECT " + text;
        bool same = false;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_FLOAT) {
            double back = sqlite3_column_double(stmt, 0);
            same = std::memcmp(&back, &d, sizeof d) == 0;
        }
        sqlite3_finalize(stmt);
        return same;
    }

    // d = mantissa * 2^exponent with |mantissa| < 2^53: the mantissa converts to a double
    // exactly, and each multiplication or division by 2^62 (or a smaller power) is exact
    // up to the last one, whose result is d itself.
    static std::string exact_expression(double d) {
        int exponent = 0;
        double fraction = std::frexp(d, &exponent);  // d = fraction * 2^exponent
        auto mantissa = static_cast<int64_t>(std::ldexp(fraction, 53));
        exponent -= 53;
        std::string out = "(" + std::to_string(mantissa) + ".0";
        const char* op = exponent < 0 ? "/" : "*";
        int left = exponent < 0 ? -exponent : exponent;
        while (left > 0) {
            int step = left > 62 ? 62 : left;
            out += op + std::to_string(int64_t{1} << step);
            left -= step;
        }
        return out + ")";
    }

    sqlite3* db_ = nullptr;
};

// A value of data_query as SQL: numbers as numbers, the rest as quote() wrote it, but an
// infinity, which quote() writes as Inf (SQL would read a name), as 1e999.
std::string literal(const json::value& v, RealWriter& reals) {
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    if (v.is_double()) return reals.literal(v.get_double());
    std::string text = text_of(v);
    if (text == "Inf") return "1e999";
    if (text == "-Inf") return "-1e999";
    return text;
}

// INSERT statements of up to kRowsPerInsert rows and about kInsertBytes of SQL each (the
// node takes at most 1 MiB of SQL per statement; a longer single row stays one statement).
void append_rows(std::string& out, const std::string& insert_head, const json::array& rows,
                 RealWriter& reals) {
    size_t in_statement = 0;
    size_t statement_start = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (in_statement == 0) {
            statement_start = out.size();
            out += insert_head + "\n(";
        } else {
            out += ",\n(";
        }
        const json::array& row = rows[i].as_array();
        for (size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + literal(row[c], reals);
        out += ")";
        ++in_statement;
        if (in_statement == kRowsPerInsert || out.size() - statement_start >= kInsertBytes ||
            i + 1 == rows.size()) {
            out += ";\n";
            in_statement = 0;
        }
    }
}

json::array run_query(NodeConnection& node, const std::string& sql) {
    Answer answer = node.query(sql);
    if (!answer.ok()) throw Error(ErrorKind::bad_request, answer.error());
    const json::value* results = answer.body.as_object().if_contains("results");
    if (results == nullptr || !results->is_array())
        throw Error(ErrorKind::internal, "the node's answer has no \"results\"");
    return results->as_array();
}

}  // namespace

std::string dump_database(NodeConnection& node) {
    json::array schema_results = run_query(node, kSchemaQueries);
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        Schema schema = read_schema(schema_results);
        std::string sql = kSchemaQueries;
        for (const TableInfo& table : schema.tables) sql += data_query(table);
        if (schema.has_sequence) sql += "SELECT quote(name), quote(seq) FROM sqlite_sequence;\n";
        json::array results = run_query(node, sql);
        bool same_schema = true;
        for (size_t i = 0; i < kSchemaStatements; ++i)
            same_schema = same_schema && results.at(i) == schema_results.at(i);
        if (!same_schema) {  // a schema change came in between: read again
            results.resize(kSchemaStatements);
            schema_results = std::move(results);
            continue;
        }

        RealWriter reals;
        std::string out = "BEGIN TRANSACTION;\n";
        size_t next = kSchemaStatements;
        for (const TableInfo& table : schema.tables) {
            out += table.sql + ";\n";
            std::string head = "INSERT INTO " + quote_identifier(table.name) + "(";
            if (!table.rowid.empty()) head += table.rowid;
            for (size_t c = 0; c < table.columns.size(); ++c)
                head += (c || !table.rowid.empty() ? "," : "") +
                        quote_identifier(table.columns[c].name);
            head += ") VALUES";
            append_rows(out, head, results.at(next++).as_object().at("rows").as_array(), reals);
        }
        if (schema.has_sequence) {
            out += "DELETE FROM sqlite_sequence;\n";
            append_rows(out, "INSERT INTO sqlite_sequence(name,seq) VALUES",
                        results.at(next++).as_object().at("rows").as_array(), reals);
        }
        for (const std::string& sql_text : schema.later) out += sql_text + ";\n";
        return out + "COMMIT;\n";
    }
    throw Error(ErrorKind::conflict, "the schema kept changing while .dump read it; try again");
}

}  // namespace sqlrep::shell
