#include "shared/table_checksum.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <sqlite3.h>
#include <xxhash.h>

#include "shared/error.hpp"
#include "shared/log_entry.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"

namespace sqlrep {
namespace {

std::string quote_identifier(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    return out + "\"";
}

std::string quote_literal(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    return out + "'";
}

bool same_name(const std::string& a, const std::string& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

// A prepared statement that is finalized however the scope ends.
class Statement {
  public:
    Statement(sqlite3* db, const std::string& sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
            std::string problem = sqlite3_errmsg(db);
            sqlite3_finalize(stmt_);
            throw Error(ErrorKind::internal, "checksum: " + problem + " (" + sql + ")");
        }
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // True for a row, false when done; throws on an error.
    bool step() {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw Error(ErrorKind::internal, std::string("checksum: ") + sqlite3_errmsg(db_));
    }
    sqlite3_stmt* get() const { return stmt_; }
    std::string text(int column) const {
        const unsigned char* text = sqlite3_column_text(stmt_, column);
        return text ? reinterpret_cast<const char*>(text) : "";
    }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

struct TableInfo {
    std::string name;
    bool without_rowid = false;
};

// Each value is hashed with its type tag and length, so ("ab", "c") and ("a", "bc")
// or 1 and '1' never collide by construction.
void hash_value(XXH3_state_t* state, sqlite3_stmt* stmt, int column) {
    unsigned char type = static_cast<unsigned char>(sqlite3_column_type(stmt, column));
    XXH3_128bits_update(state, &type, 1);
    switch (type) {
        case SQLITE_INTEGER: {
            int64_t v = sqlite3_column_int64(stmt, column);
            XXH3_128bits_update(state, &v, sizeof v);
            break;
        }
        case SQLITE_FLOAT: {
            // The bits, so that -0.0 and 0.0 (or two NaN payloads) are told apart.
            double v = sqlite3_column_double(stmt, column);
            XXH3_128bits_update(state, &v, sizeof v);
            break;
        }
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const void* data = type == SQLITE_TEXT
                                   ? static_cast<const void*>(sqlite3_column_text(stmt, column))
                                   : sqlite3_column_blob(stmt, column);
            int64_t size = sqlite3_column_bytes(stmt, column);
            XXH3_128bits_update(state, &size, sizeof size);
            if (size > 0) XXH3_128bits_update(state, data, static_cast<size_t>(size));
            break;
        }
        default:
            break;
    }
}

// The query whose rows, hashed column by column, make a table's checksum: a total order
// that is the same on every node holding the same rows.
std::string checksum_query(sqlite3* db, const TableInfo& table) {
    const std::string from = " FROM main." + quote_identifier(table.name);

    std::vector<std::string> columns;
    std::vector<std::string> primary_key;  // in key order
    {
        Statement info(db, "SELECT name, pk FROM pragma_table_xinfo(" + quote_literal(table.name) +
                               ", 'main') ORDER BY pk, cid");
        while (info.step()) {
            columns.push_back(info.text(0));
            if (sqlite3_column_int(info.get(), 1) > 0) primary_key.push_back(info.text(0));
        }
    }
    auto ordered_by = [&](const std::vector<std::string>& keys) {
        // BINARY: two rows the key's own collation tells apart differ in bytes too, so the
        // order is total and does not depend on how a column's collation was declared.
        std::string out = " ORDER BY ";
        for (std::size_t i = 0; i < keys.size(); ++i)
            out += (i ? ", " : "") + quote_identifier(keys[i]) + " COLLATE BINARY";
        return out;
    };
    if (table.without_rowid) return "SELECT *" + from + ordered_by(primary_key);

    // A column may take the name rowid (or _rowid_, or oid): use a name still free.
    for (const char* alias : {"rowid", "_rowid_", "oid"}) {
        bool taken = std::any_of(columns.begin(), columns.end(),
                                 [&](const std::string& c) { return same_name(c, alias); });
        if (!taken) return std::string("SELECT ") + alias + ", *" + from + " ORDER BY " + alias;
    }
    // All three names are columns: the rowid cannot be read, so order by every column.
    return "SELECT *" + from + ordered_by(columns);
}

TableChecksum checksum_table(sqlite3* db, const TableInfo& table) {
    Statement rows(db, checksum_query(db, table));
    const int columns = sqlite3_column_count(rows.get());

    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                   &XXH3_freeState);
    XXH3_128bits_reset(state.get());
    TableChecksum out{table.name, 0, ""};
    while (rows.step()) {
        ++out.rows;
        for (int c = 0; c < columns; ++c) hash_value(state.get(), rows.get(), c);
    }
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state.get()));
    Hash hash;
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), hash.begin());
    out.checksum = to_hex(hash);
    return out;
}

// Every table replication keeps identical (table_checksum.hpp says which), by name.
std::vector<TableInfo> tables_to_check(sqlite3* db) {
    std::vector<TableInfo> out;
    Statement list(db,
                   "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' "
                   "AND type IN ('table', 'shadow') AND name <> 'sqlite_schema' "
                   "AND name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\' "
                   "AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY name");
    while (list.step()) out.push_back({list.text(0), sqlite3_column_int(list.get(), 1) != 0});
    return out;
}

}  // namespace

DatabaseChecksum checksum_database(Connection& conn) {
    return conn.internal([&] {
        ReadTransaction transaction(conn);
        DatabaseChecksum out;
        out.index = last_log_position(conn).index;
        for (const auto& table : tables_to_check(conn.handle()))
            out.tables.push_back(checksum_table(conn.handle(), table));
        return out;
    });
}

}  // namespace sqlrep
