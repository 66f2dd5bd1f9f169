#include "shared/replication_log.hpp"

#include <cstring>

#include <sqlite3.h>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

[[noreturn]] void fail(Connection& conn, const char* what) {
    throw Error(ErrorKind::internal, std::string(what) + ": " + sqlite3_errmsg(conn.handle()));
}

Hash column_hash(sqlite3_stmt* stmt, int column) {
    Hash hash{};
    if (sqlite3_column_bytes(stmt, column) == static_cast<int>(hash.size()))
        std::memcpy(hash.data(), sqlite3_column_blob(stmt, column), hash.size());
    return hash;
}

std::string column_text(sqlite3_stmt* stmt, int column) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return std::string(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

std::string column_blob(sqlite3_stmt* stmt, int column) {
    auto blob = static_cast<const char*>(sqlite3_column_blob(stmt, column));
    return std::string(blob ? blob : "", static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

LogPosition base_position(Connection& conn) {
    LogPosition base;
    if (auto index = read_meta(conn, "base_index")) base.index = std::stoll(*index);
    if (auto term = read_meta(conn, "base_term")) base.term = std::stoll(*term);
    if (auto hash = read_meta(conn, "base_hash")) base.hash = hash_from_hex(*hash);
    return base;
}

}  // namespace

void ensure_log_schema(Connection& conn) {
    conn.exec_internal(
        "CREATE TABLE IF NOT EXISTS _sqlrep_log ("
        " idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, time_ms INTEGER NOT NULL,"
        " hash BLOB NOT NULL, body BLOB NOT NULL, request_id TEXT);"
        "CREATE TABLE IF NOT EXISTS _sqlrep_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        // Each change sink's acknowledged position (master/sink_runner.hpp). Every node has
        // the table; its rows arrive as effects of the sinks' own entries.
        "CREATE TABLE IF NOT EXISTS _sqlrep_cdc (sink TEXT PRIMARY KEY, position INTEGER NOT "
        "NULL);");
    // A data dir written by a sqlrep whose entries were statements: its log means nothing
    // to this version, and following it would diverge.
    bool statement_log = conn.internal([&] {
        auto stmt =
            conn.cached("SELECT 1 FROM pragma_table_info('_sqlrep_log') WHERE name = 'seed'");
        return sqlite3_step(stmt.get()) == SQLITE_ROW;
    });
    if (statement_log)
        throw Error(ErrorKind::internal,
                    "this data dir was written by an older sqlrep whose log holds statements, "
                    "not effects: start this node on a fresh data dir (a replica then takes a "
                    "snapshot from its master)");
    bool has_request_id = conn.internal([&] {
        auto stmt =
            conn.cached("SELECT 1 FROM pragma_table_info('_sqlrep_log') WHERE name = 'request_id'");
        return sqlite3_step(stmt.get()) == SQLITE_ROW;
    });
    // A log from before request ids: its entries have none (NULL).
    if (!has_request_id) conn.exec_internal("ALTER TABLE _sqlrep_log ADD COLUMN request_id TEXT");
}

LogPosition last_log_position(Connection& conn) {
    return conn.internal([&] {
        auto stmt =
            conn.cached("SELECT idx, term, hash FROM _sqlrep_log ORDER BY idx DESC LIMIT 1");
        int rc = sqlite3_step(stmt.get());
        if (rc == SQLITE_ROW) {
            LogPosition p;
            p.index = sqlite3_column_int64(stmt.get(), 0);
            p.term = sqlite3_column_int64(stmt.get(), 1);
            p.hash = column_hash(stmt.get(), 2);
            return p;
        }
        if (rc != SQLITE_DONE) fail(conn, "cannot read the log");
        return base_position(conn);
    });
}

int64_t first_log_index(Connection& conn) {
    return conn.internal([&]() -> int64_t {
        auto stmt = conn.cached("SELECT min(idx) FROM _sqlrep_log");
        if (sqlite3_step(stmt.get()) == SQLITE_ROW &&
            sqlite3_column_type(stmt.get(), 0) != SQLITE_NULL)
            return sqlite3_column_int64(stmt.get(), 0);
        return base_position(conn).index + 1;
    });
}

std::optional<Hash> log_hash_at(Connection& conn, int64_t index) {
    return conn.internal([&]() -> std::optional<Hash> {
        LogPosition base = base_position(conn);
        if (index == base.index) return base.hash;
        auto stmt = conn.cached("SELECT hash FROM _sqlrep_log WHERE idx = ?");
        sqlite3_bind_int64(stmt.get(), 1, index);
        if (sqlite3_step(stmt.get()) == SQLITE_ROW) return column_hash(stmt.get(), 0);
        return std::nullopt;
    });
}

void append_log_entry(Connection& conn, const Entry& e) {
    conn.internal([&] {
        auto stmt = conn.cached(
            "INSERT INTO _sqlrep_log (idx, term, time_ms, hash, body, request_id)"
            " VALUES (?, ?, ?, ?, ?, ?)");
        sqlite3_stmt* s = stmt.get();
        sqlite3_bind_int64(s, 1, e.index);
        sqlite3_bind_int64(s, 2, e.term);
        sqlite3_bind_int64(s, 3, e.time_ms);
        sqlite3_bind_blob(s, 4, e.hash.data(), static_cast<int>(e.hash.size()), SQLITE_STATIC);
        sqlite3_bind_blob64(s, 5, e.body.data(), e.body.size(), SQLITE_STATIC);
        if (e.request_id.empty())
            sqlite3_bind_null(s, 6);
        else
            sqlite3_bind_text64(s, 6, e.request_id.data(), e.request_id.size(), SQLITE_STATIC,
                                SQLITE_UTF8);
        if (sqlite3_step(s) != SQLITE_DONE) fail(conn, "cannot append to the log");
    });
}

std::vector<Entry> read_log_entries(Connection& conn, int64_t from, std::size_t max_count,
                                    std::size_t max_bytes) {
    return conn.internal([&] {
        std::vector<Entry> out;
        auto stmt = conn.cached(
            "SELECT idx, term, time_ms, hash, body, request_id FROM _sqlrep_log"
            " WHERE idx >= ? ORDER BY idx LIMIT ?");
        sqlite3_stmt* s = stmt.get();
        sqlite3_bind_int64(s, 1, from);
        sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(max_count));
        std::size_t bytes = 0;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            Entry e;
            e.index = sqlite3_column_int64(s, 0);
            e.term = sqlite3_column_int64(s, 1);
            e.time_ms = sqlite3_column_int64(s, 2);
            e.hash = column_hash(s, 3);
            e.body = column_blob(s, 4);
            e.request_id = column_text(s, 5);  // NULL reads as ""
            bytes += e.body.size();
            out.push_back(std::move(e));
            if (bytes >= max_bytes) break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(conn, "cannot read the log");
        return out;
    });
}

std::vector<std::pair<int64_t, std::string>> read_log_request_ids(Connection& conn, int64_t after) {
    return conn.internal([&] {
        std::vector<std::pair<int64_t, std::string>> out;
        auto stmt = conn.cached(
            "SELECT idx, request_id FROM _sqlrep_log"
            " WHERE idx > ? AND request_id IS NOT NULL ORDER BY idx");
        sqlite3_stmt* s = stmt.get();
        sqlite3_bind_int64(s, 1, after);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            out.emplace_back(sqlite3_column_int64(s, 0), column_text(s, 1));
        if (rc != SQLITE_DONE) fail(conn, "cannot read the log's request ids");
        return out;
    });
}

void trim_log(Connection& conn, int64_t index) {
    conn.internal([&] {
        auto stmt = conn.cached("SELECT term, hash FROM _sqlrep_log WHERE idx = ?");
        sqlite3_bind_int64(stmt.get(), 1, index);
        if (sqlite3_step(stmt.get()) != SQLITE_ROW)
            throw Error(ErrorKind::internal, "cannot trim the log at an index it does not hold");
        int64_t term = sqlite3_column_int64(stmt.get(), 0);
        Hash hash = column_hash(stmt.get(), 1);
        auto remove = conn.cached("DELETE FROM _sqlrep_log WHERE idx <= ?");
        sqlite3_bind_int64(remove.get(), 1, index);
        if (sqlite3_step(remove.get()) != SQLITE_DONE) fail(conn, "cannot trim the log");
        write_meta(conn, "base_index", std::to_string(index));
        write_meta(conn, "base_term", std::to_string(term));
        write_meta(conn, "base_hash", to_hex(hash));
    });
}

std::optional<int64_t> lowest_sink_position(Connection& conn) {
    return conn.internal([&]() -> std::optional<int64_t> {
        auto stmt = conn.cached("SELECT min(position) FROM _sqlrep_cdc");
        if (sqlite3_step(stmt.get()) == SQLITE_ROW &&
            sqlite3_column_type(stmt.get(), 0) != SQLITE_NULL)
            return sqlite3_column_int64(stmt.get(), 0);
        return std::nullopt;
    });
}

std::optional<std::string> read_meta(Connection& conn, const std::string& key) {
    return conn.internal([&]() -> std::optional<std::string> {
        auto stmt = conn.cached("SELECT value FROM _sqlrep_meta WHERE key = ?");
        sqlite3_bind_text(stmt.get(), 1, key.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt.get()) == SQLITE_ROW) return column_text(stmt.get(), 0);
        return std::nullopt;
    });
}

void write_meta(Connection& conn, const std::string& key, const std::string& value) {
    conn.internal([&] {
        auto stmt = conn.cached("INSERT OR REPLACE INTO _sqlrep_meta (key, value) VALUES (?, ?)");
        sqlite3_bind_text(stmt.get(), 1, key.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt.get(), 2, value.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt.get()) != SQLITE_DONE) fail(conn, "cannot write meta");
    });
}

}  // namespace sqlrep
