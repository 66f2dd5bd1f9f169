#include "shared/table_checksum.hpp"

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
            double v = sqlite3_column_double(stmt, column);
            XXH3_128bits_update(state, &v, sizeof v);
            break;
        }
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const void* data = type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_column_text(stmt, column))
                                                   : sqlite3_column_blob(stmt, column);
            int64_t size = sqlite3_column_bytes(stmt, column);
            XXH3_128bits_update(state, &size, sizeof size);
            if (size > 0) XXH3_128bits_update(state, data, static_cast<size_t>(size));
            break;
        }
        default: break;
    }
}

TableChecksum checksum_table(Connection& conn, const std::string& name) {
    sqlite3* db = conn.handle();
    sqlite3_stmt* stmt = nullptr;
    // First learn the column count, then order by every column: a total order that does
    // not depend on rowids or on how the table was declared.
    std::string probe = "SELECT * FROM " + quote_identifier(name) + " LIMIT 0";
    if (sqlite3_prepare_v2(db, probe.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
        throw Error(ErrorKind::internal, sqlite3_errmsg(db));
    int columns = sqlite3_column_count(stmt);
    sqlite3_finalize(stmt);

    std::string sql = "SELECT * FROM " + quote_identifier(name) + " ORDER BY ";
    for (int c = 1; c <= columns; ++c) sql += (c > 1 ? "," : "") + std::to_string(c);
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
        throw Error(ErrorKind::internal, sqlite3_errmsg(db));

    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    TableChecksum out{name, 0, ""};
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        ++out.rows;
        for (int c = 0; c < columns; ++c) hash_value(state, stmt, c);
    }
    sqlite3_finalize(stmt);
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
    XXH3_freeState(state);
    if (rc != SQLITE_DONE) throw Error(ErrorKind::internal, sqlite3_errmsg(db));
    Hash hash;
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), hash.begin());
    out.checksum = to_hex(hash);
    return out;
}

}  // namespace

DatabaseChecksum checksum_database(Connection& conn) {
    return conn.internal([&] {
        ReadTransaction transaction(conn);
        DatabaseChecksum out;
        out.index = last_log_position(conn).index;

        std::vector<std::string> names;
        sqlite3_stmt* stmt = nullptr;
        const char* list =
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\' AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY name";
        if (sqlite3_prepare_v2(conn.handle(), list, -1, &stmt, nullptr) != SQLITE_OK)
            throw Error(ErrorKind::internal, sqlite3_errmsg(conn.handle()));
        while (sqlite3_step(stmt) == SQLITE_ROW)
            names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
        sqlite3_finalize(stmt);

        for (const auto& name : names) out.tables.push_back(checksum_table(conn, name));
        return out;
    });
}

}  // namespace sqlrep
