#include "master/restore_entry.hpp"

#include <filesystem>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "shared/effects.hpp"
#include "shared/replication_log.hpp"
#include "shared/snapshot.hpp"
#include "shared/write_transaction.hpp"

namespace sqlrep::master {

std::string restore_digest(const CheckedDatabase& db) {
    return std::string(db.format == UploadFormat::sql ? "sql dump" : "sqlite file") + ", " +
           std::to_string(db.tables) + " table(s), " + std::to_string(db.bytes) + " bytes, xxh3 " +
           db.checksum;
}

Entry make_restore_entry(const LogPosition& last, int64_t term, const std::string& digest) {
    Entry entry;
    entry.index = last.index + 1;
    entry.term = term;
    entry.time_ms = unix_time_ms();
    EffectWriter body;
    body.restore(digest);
    entry.body = body.take();
    entry.hash = chain_hash(last.hash, entry);
    return entry;
}

void prepare_restored_database(const std::string& path, Connection& current,
                               const LogPosition& base, const Entry& entry) {
    // The node's own meta (its term, ...) goes on; only the log's base changes.
    std::vector<std::pair<std::string, std::string>> meta = current.internal([&] {
        std::vector<std::pair<std::string, std::string>> rows;
        auto stmt = current.cached("SELECT key, value FROM _sqlrep_meta");
        while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
            auto key = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
            auto value = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1));
            rows.emplace_back(key ? key : "", value ? value : "");
        }
        return rows;
    });
    Connection target(path, Connection::Mode::writer);
    ensure_log_schema(target);
    WriteTransaction transaction(target);
    for (const auto& [key, value] : meta) write_meta(target, key, value);
    write_meta(target, "base_index", std::to_string(base.index));
    write_meta(target, "base_term", std::to_string(base.term));
    write_meta(target, "base_hash", to_hex(base.hash));
    append_log_entry(target, entry);
    transaction.commit();
    // One self-contained file (the WAL folded in), as snapshots are.
    target.exec_internal("PRAGMA journal_mode=DELETE");
}

void install_restored_database(Connection& writer, const std::string& path) {
    install_snapshot(writer, path);
    ensure_log_schema(writer);
}

}  // namespace sqlrep::master
