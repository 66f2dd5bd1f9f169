#include "shared/table_checksum.hpp"

#include <memory>

#include <sqlite3.h>
#include <xxhash.h>

#include "shared/error.hpp"
#include "shared/log_entry.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"
#include "shared/statement.hpp"
#include "shared/table_shape.hpp"

namespace sqlrep {
namespace {

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
std::string checksum_query(Connection& conn, const std::string& table) {
    const std::string from = " FROM main." + quote_identifier(table);
    TableShape shape = load_table_shape(conn, table);
    auto ordered_by = [&](const std::vector<std::size_t>& keys) {
        // BINARY: two rows the key's own collation tells apart differ in bytes too, so the
        // order is total and does not depend on how a column's collation was declared.
        std::string out = " ORDER BY ";
        for (std::size_t i = 0; i < keys.size(); ++i)
            out += (i ? ", " : "") + quote_identifier(shape.stored_columns[keys[i]]) +
                   " COLLATE BINARY";
        return out;
    };
    if (shape.without_rowid) return "SELECT *" + from + ordered_by(shape.key);
    if (!shape.rowid_name.empty())
        return "SELECT " + shape.rowid_name + ", *" + from + " ORDER BY " + shape.rowid_name;
    // Columns named rowid, oid and _rowid_ hide the rowid: order by every stored column.
    std::vector<std::size_t> all(shape.stored_columns.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    return "SELECT *" + from + ordered_by(all);
}

TableChecksum checksum_table(Connection& conn, const std::string& table) {
    Statement rows(conn.handle(), checksum_query(conn, table), "checksum");
    const int columns = sqlite3_column_count(rows.get());

    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                   &XXH3_freeState);
    XXH3_128bits_reset(state.get());
    TableChecksum out{table, 0, ""};
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
std::vector<std::string> tables_to_check(sqlite3* db) {
    std::vector<std::string> out;
    Statement list(db,
                   "SELECT name FROM pragma_table_list WHERE schema = 'main' "
                   "AND type IN ('table', 'shadow') AND name <> 'sqlite_schema' "
                   "AND name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\' "
                   "AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY name",
                   "checksum");
    while (list.step()) {
        auto name = reinterpret_cast<const char*>(sqlite3_column_text(list.get(), 0));
        out.push_back(name ? name : "");
    }
    return out;
}

}  // namespace

DatabaseChecksum checksum_database(Connection& conn) {
    return conn.internal([&] {
        ReadTransaction transaction(conn);
        DatabaseChecksum out;
        out.index = last_log_position(conn).index;
        for (const auto& table : tables_to_check(conn.handle()))
            out.tables.push_back(checksum_table(conn, table));
        return out;
    });
}

}  // namespace sqlrep
