#include "shared/backup_file.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include <sqlite3.h>

#include "shared/error.hpp"
#include "shared/snapshot.hpp"
#include "shared/sql_dump.hpp"
#include "shared/temp_files.hpp"

namespace sqlrep {
namespace {

// A plain handle on the copy: sqlrep's own SQL on it (dropping the reserved tables,
// VACUUM) is nothing the client policy of a Connection would allow.
class PlainHandle {
  public:
    explicit PlainHandle(const std::string& path, int flags = SQLITE_OPEN_READWRITE) {
        if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
            std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw Error(ErrorKind::internal, "cannot open the backup copy: " + why);
        }
    }
    ~PlainHandle() { sqlite3_close_v2(db_); }
    PlainHandle(const PlainHandle&) = delete;
    PlainHandle& operator=(const PlainHandle&) = delete;
    sqlite3* get() const { return db_; }
    void exec(const std::string& sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string why = message ? message : sqlite3_errmsg(db_);
            sqlite3_free(message);
            throw Error(ErrorKind::internal, "cannot prepare the backup: " + why);
        }
    }

  private:
    sqlite3* db_ = nullptr;
};

// The first column of every row of `sql` as text.
std::vector<std::string> column(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
        throw Error(ErrorKind::internal,
                    std::string("cannot read the backup copy: ") + sqlite3_errmsg(db));
    std::vector<std::string> out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        out.emplace_back(text ? text : "");
    }
    sqlite3_finalize(stmt);
    return out;
}

// The last entry the copy holds (its log's last row, else the log's base), as
// last_log_position reads it from a node's own database.
LogPosition copied_position(sqlite3* db) {
    LogPosition p;
    auto last = column(db,
                       "SELECT idx || ' ' || term || ' ' || lower(hex(hash)) FROM _sqlrep_log "
                       "ORDER BY idx DESC LIMIT 1");
    if (!last.empty()) {
        char hash[64] = {};
        long long index = 0, term = 0;
        if (std::sscanf(last[0].c_str(), "%lld %lld %40s", &index, &term, hash) == 3) {
            p.index = index;
            p.term = term;
            p.hash = hash_from_hex(hash);
        }
        return p;
    }
    auto meta = [&](const char* key) {
        auto v =
            column(db, std::string("SELECT value FROM _sqlrep_meta WHERE key = '") + key + "'");
        return v.empty() ? std::string() : v[0];
    };
    if (std::string index = meta("base_index"); !index.empty()) p.index = std::stoll(index);
    if (std::string term = meta("base_term"); !term.empty()) p.term = std::stoll(term);
    if (std::string hash = meta("base_hash"); !hash.empty()) p.hash = hash_from_hex(hash);
    return p;
}

void remove_quietly(const std::string& path) {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        std::filesystem::remove(path + suffix, ignored);
}

void compress_file(const std::string& in_path, const std::string& out_path, Codec codec) {
    std::ifstream in(in_path, std::ios::binary);
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!in || !out) throw Error(ErrorKind::internal, "cannot compress the backup");
    Compressor compressor(codec);
    auto sink = [&](std::string_view piece) {
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    };
    std::vector<char> chunk(1 << 20);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        compressor.write(std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())),
                         sink);
    }
    compressor.finish(sink);
    out.close();
    if (!out) throw Error(ErrorKind::internal, "cannot write the compressed backup");
}

}  // namespace

void drop_reserved_tables(sqlite3* db) {
    std::vector<std::string> reserved =
        column(db,
               "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE "
               "'\\_sqlrep\\_%' ESCAPE '\\'");
    std::string drop = "PRAGMA secure_delete=ON;";
    for (const auto& name : reserved) drop += "DROP TABLE \"" + name + "\";";
    char* message = nullptr;
    if (sqlite3_exec(db, drop.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string why = message ? message : sqlite3_errmsg(db);
        sqlite3_free(message);
        throw Error(ErrorKind::internal, "cannot drop sqlrep's tables: " + why);
    }
}

BackupFile create_backup(Connection& source, BackupFormat format, Codec codec) {
    std::string base = unique_temp_path(source.path(), "backup");
    std::string copy = base + ".db";
    std::vector<std::string> made{copy};
    BackupFile out;
    try {
        copy_database(source, copy);
        {
            PlainHandle db(copy);
            db.exec("PRAGMA synchronous=OFF");  // a temp file: its durability is the download
            out.position = copied_position(db.get());
            drop_reserved_tables(db.get());
        }
        std::string result = copy;
        if (format == BackupFormat::sql) {
            result = base + ".sql";
            made.push_back(result);
            std::ofstream dump(result, std::ios::binary | std::ios::trunc);
            PlainHandle db(copy, SQLITE_OPEN_READONLY);
            write_sql_dump(db.get(), [&](std::string_view piece) {
                dump.write(piece.data(), static_cast<std::streamsize>(piece.size()));
            });
            dump.close();
            if (!dump) throw Error(ErrorKind::internal, "cannot write the SQL dump");
            remove_quietly(copy);
        }
        if (codec != Codec::none) {
            std::string compressed = result + codec_file_suffix(codec);
            made.push_back(compressed);
            compress_file(result, compressed, codec);
            remove_quietly(result);
            result = compressed;
        }
        out.path = result;
        out.bytes = std::filesystem::file_size(result);
    } catch (...) {
        for (const auto& path : made) remove_quietly(path);
        throw;
    }
    return out;
}

const char* backup_content_type(BackupFormat format, Codec codec) {
    if (codec == Codec::gzip) return "application/gzip";
    if (codec == Codec::zstd) return "application/zstd";
    return format == BackupFormat::sql ? "application/sql" : "application/vnd.sqlite3";
}

std::string backup_file_name(BackupFormat format, Codec codec, int64_t index) {
    return "sqlrep-backup-" + std::to_string(index) +
           (format == BackupFormat::sql ? ".sql" : ".db") + codec_file_suffix(codec);
}

}  // namespace sqlrep
