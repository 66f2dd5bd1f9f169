#include "shared/database_upload.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <sqlite3.h>

#include "shared/compression.hpp"
#include "shared/error.hpp"
#include "shared/snapshot.hpp"
#include "shared/sql_dump.hpp"
#include "shared/statement_policy.hpp"

namespace sqlrep {
namespace {

constexpr std::size_t kReadChunk = 1 << 20;

[[noreturn]] void refuse(const std::string& why) { throw Error(ErrorKind::bad_request, why); }

std::string read_head(const std::string& path, std::size_t bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::internal, "cannot read the upload " + path);
    std::string head(bytes, '\0');
    in.read(head.data(), static_cast<std::streamsize>(bytes));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return head;
}

// Decompresses `in` into `out`, refusing more than `max_bytes` of output.
void decompress_file(const std::string& in_path, Codec codec, const std::string& out_path,
                     uint64_t max_bytes) {
    std::ifstream in(in_path, std::ios::binary);
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!in || !out) throw Error(ErrorKind::internal, "cannot decompress the upload");
    Decompressor decompressor(codec, max_bytes);
    std::vector<char> chunk(kReadChunk);
    auto sink = [&](std::string_view piece) {
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    };
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        decompressor.write(std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())),
                           sink);
    }
    decompressor.finish();
    out.close();
    if (!out) throw Error(ErrorKind::internal, "cannot write the decompressed upload");
}

// A plain SQLite handle on the file being checked: not a sqlrep Connection, whose policy
// refuses what a dump legitimately does (transactions, PRAGMA foreign_keys).
class CheckHandle {
  public:
    CheckHandle(const std::string& path, int flags) {
        if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
            std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            refuse("cannot open the uploaded database: " + why);
        }
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
        sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
        sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
        sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, kMaxValueBytes);
    }
    ~CheckHandle() { sqlite3_close_v2(db_); }
    CheckHandle(const CheckHandle&) = delete;
    CheckHandle& operator=(const CheckHandle&) = delete;

    sqlite3* get() const { return db_; }

    // Runs sqlrep's own SQL; an error is the upload's fault.
    void exec(const std::string& sql, const char* what) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string why = message ? message : sqlite3_errmsg(db_);
            sqlite3_free(message);
            refuse(std::string(what) + ": " + why);
        }
    }

    // The first column of each row of `sql`, as text.
    std::vector<std::string> column(const std::string& sql, const char* what) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
            refuse(std::string(what) + ": " + sqlite3_errmsg(db_));
        std::vector<std::string> out;
        int rc;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
            out.emplace_back(text ? text : "");
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) refuse(std::string(what) + ": " + sqlite3_errmsg(db_));
        return out;
    }

  private:
    sqlite3* db_ = nullptr;
};

// What a dump may do: anything to its own main database, and nothing else. Pragmas are
// refused but foreign_keys (a dump turns it off first), and no other file can be named.
// `actions` counts what it was asked about: a dump of comments alone prepares nothing.
int dump_authorizer(void* actions, int action, const char* a, const char* b, const char*,
                    const char*) {
    ++*static_cast<std::size_t*>(actions);
    switch (action) {
        case SQLITE_ATTACH:
        case SQLITE_DETACH:
            return SQLITE_DENY;
        case SQLITE_PRAGMA:
            return a != nullptr && sqlite3_stricmp(a, "foreign_keys") == 0 ? SQLITE_OK
                                                                           : SQLITE_DENY;
        case SQLITE_FUNCTION:
            return b != nullptr && sqlite3_stricmp(b, "load_extension") == 0 ? SQLITE_DENY
                                                                             : SQLITE_OK;
        default:
            return SQLITE_OK;
    }
}

// Runs the dump one complete statement at a time, so only the largest statement is ever
// in memory, never the whole text.
void run_dump(CheckHandle& db, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::internal, "cannot read the upload " + path);
    std::size_t actions = 0;
    sqlite3_set_authorizer(db.get(), dump_authorizer, &actions);
    std::string statement;
    std::string line;
    std::size_t line_number = 0, statement_line = 1, statements = 0;
    auto run = [&] {
        char* message = nullptr;
        if (sqlite3_exec(db.get(), statement.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string why = message ? message : sqlite3_errmsg(db.get());
            sqlite3_free(message);
            refuse("the SQL dump failed at the statement on line " +
                   std::to_string(statement_line) + ": " + why);
        }
        ++statements;
        statement.clear();
    };
    while (std::getline(in, line)) {
        ++line_number;
        if (line.find('\0') != std::string::npos)
            refuse("the upload is neither a SQLite database nor SQL text (a NUL byte on line " +
                   std::to_string(line_number) + ")");
        if (statement.empty()) {
            if (std::all_of(line.begin(), line.end(),
                            [](unsigned char c) { return std::isspace(c); }))
                continue;
            statement_line = line_number;
        }
        statement += line;
        statement += '\n';
        if (sqlite3_complete(statement.c_str())) run();
    }
    if (!statement.empty()) {
        // A last statement without its ';'.
        statement += ';';
        if (!sqlite3_complete(statement.c_str()))
            refuse("the SQL dump ends inside a statement (line " + std::to_string(statement_line) +
                   ")");
        run();
    }
    sqlite3_set_authorizer(db.get(), nullptr, nullptr);
    if (statements == 0 || actions == 0)
        refuse("the upload is empty: no SQL statement and no SQLite header");
    // A dump that opened a transaction and never closed it (cut off): its data is not all
    // here.
    if (!sqlite3_get_autocommit(db.get()))
        refuse("the SQL dump ends inside a transaction (BEGIN without COMMIT): it is incomplete");
}

// The checks every upload passes. Returns the number of user tables, or nullopt when the
// file's page size is not `page_size` (the caller then rewrites it; VACUUM could, but it
// may renumber the rowids of tables without an INTEGER PRIMARY KEY).
std::optional<std::size_t> check_upload(CheckHandle& db, int page_size) {
    auto encoding = db.column("PRAGMA encoding", "cannot read the database");
    if (encoding.empty() || encoding[0] != "UTF-8")
        refuse("the database's text encoding is " +
               (encoding.empty() ? std::string("unknown") : encoding[0]) +
               "; sqlrep stores UTF-8 (convert it with sqlite3 .dump and upload the dump)");
    auto verdict = db.column("PRAGMA integrity_check(20)", "the integrity check failed");
    if (verdict.empty() || verdict[0] != "ok") {
        std::string all;
        for (const auto& v : verdict) all += (all.empty() ? "" : "; ") + v;
        refuse("the database is damaged (integrity_check: " + all + ")");
    }
    auto reserved = db.column(
        "SELECT name FROM sqlite_schema WHERE name LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY name",
        "cannot read the schema");
    if (!reserved.empty())
        refuse("the upload holds sqlrep's reserved objects (" + reserved[0] +
               (reserved.size() > 1 ? ", ..." : "") +
               "): a restore takes user data only; take backups with GET /backup, which "
               "leaves them out");
    // Replicas find a row by its rowid: a table whose columns hide every name of it could
    // not be replicated (the master refuses to create one, effect_recorder.cpp).
    auto hidden = db.column(
        "SELECT t.name FROM pragma_table_list AS t WHERE t.schema = 'main' AND t.type = 'table' "
        "AND t.wr = 0 AND (SELECT count(*) FROM pragma_table_xinfo(t.name) AS x "
        "WHERE lower(x.name) IN ('rowid', '_rowid_', 'oid')) = 3",
        "cannot read the schema");
    if (!hidden.empty())
        refuse("table " + hidden[0] +
               " has columns named rowid, _rowid_ and oid, which hide its rowid: sqlrep cannot "
               "replicate its rows (rename one of them)");
    auto tables = db.column(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
        "'sqlite\\_%' ESCAPE '\\'",
        "cannot read the schema");
    db.exec("PRAGMA journal_mode=DELETE", "cannot leave WAL mode");
    auto current = db.column("PRAGMA page_size", "cannot read the page size");
    if (current.empty() || std::stoi(current[0]) != page_size) return std::nullopt;
    return tables.empty() ? 0 : static_cast<std::size_t>(std::stoull(tables[0]));
}

// Creates the database at `path` with `page_size` and runs the dump at `dump` into it.
std::size_t load_dump(const std::string& dump, const std::string& path, int page_size) {
    CheckHandle db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    db.exec("PRAGMA page_size=" + std::to_string(page_size) +
                "; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF",
            "cannot create the database");
    run_dump(db, dump);
    std::optional<std::size_t> tables = check_upload(db, page_size);
    if (!tables) throw Error(ErrorKind::internal, "the loaded dump has the wrong page size");
    return *tables;
}

}  // namespace

std::optional<UploadFormat> upload_format_from_content_type(std::string_view content_type) {
    std::string type(content_type.substr(0, content_type.find(';')));
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.pop_back();
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (type == "application/octet-stream" || type == "application/x-sqlite3" ||
        type == "application/vnd.sqlite3")
        return UploadFormat::sqlite;
    if (type == "application/sql" || type == "text/plain" || type == "application/x-sql")
        return UploadFormat::sql;
    return std::nullopt;
}

CheckedDatabase check_database_upload(const std::string& upload_path,
                                      std::optional<UploadFormat> declared,
                                      const std::string& out_path, int page_size,
                                      uint64_t max_bytes) {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(upload_path, ec);
    if (ec) throw Error(ErrorKind::internal, "cannot read the upload: " + ec.message());
    if (size > max_bytes)
        throw Error(ErrorKind::too_large, "the upload is " + std::to_string(size) +
                                              " bytes, over the limit of " +
                                              std::to_string(max_bytes));
    std::filesystem::remove(out_path, ec);
    const std::string plain = out_path + ".plain";
    struct Cleanup {
        const std::string& plain;
        const std::string& out;
        bool keep_out = false;
        ~Cleanup() {
            std::error_code ignored;
            std::filesystem::remove(plain, ignored);
            std::filesystem::remove(plain + ".sql", ignored);
            std::filesystem::remove(plain + "-journal", ignored);
            std::filesystem::remove(out + "-journal", ignored);
            if (!keep_out) std::filesystem::remove(out, ignored);
        }
    } cleanup{plain, out_path};

    // A compressed upload is decompressed first, under the same limit.
    std::string source = upload_path;
    Codec codec = codec_from_magic(read_head(upload_path, 4));
    if (codec != Codec::none) {
        decompress_file(upload_path, codec, plain, max_bytes);
        source = plain;
    }

    CheckedDatabase out;
    out.path = out_path;
    bool sqlite_file = read_head(source, kSqliteHeader.size()) == kSqliteHeader;
    if (declared == UploadFormat::sqlite && !sqlite_file)
        refuse(
            "the body is not a SQLite database (it does not start with SQLite's header); "
            "send an SQL dump as application/sql");
    std::size_t tables = 0;
    if (sqlite_file) {
        out.format = UploadFormat::sqlite;
        std::filesystem::copy_file(source, out_path,
                                   std::filesystem::copy_options::overwrite_existing);
        std::optional<std::size_t> checked;
        {
            CheckHandle db(out_path, SQLITE_OPEN_READWRITE);
            checked = check_upload(db, page_size);
            if (!checked) {
                // Another page size: through a dump of its own (rowids kept) into a new file.
                std::ofstream dump(plain + ".sql", std::ios::binary | std::ios::trunc);
                write_sql_dump(db.get(), [&](std::string_view piece) {
                    dump.write(piece.data(), static_cast<std::streamsize>(piece.size()));
                });
                dump.close();
                if (!dump) throw Error(ErrorKind::internal, "cannot convert the page size");
            }
        }
        if (!checked) {
            std::filesystem::remove(out_path);
            checked = load_dump(plain + ".sql", out_path, page_size);
        }
        tables = *checked;
    } else {
        out.format = UploadFormat::sql;
        tables = load_dump(source, out_path, page_size);
    }
    out.tables = tables;
    out.bytes = std::filesystem::file_size(out_path);
    if (out.bytes > max_bytes)
        throw Error(ErrorKind::too_large,
                    "the restored database would be " + std::to_string(out.bytes) +
                        " bytes, over the limit of " + std::to_string(max_bytes));
    out.checksum = file_checksum(out_path);
    cleanup.keep_out = true;
    return out;
}

}  // namespace sqlrep
