#pragma once
// Turns a database a client uploaded (POST /restore, master --restore) into a checked
// SQLite file of user data, or refuses it. The upload is either a SQLite file or an SQL
// dump (the text `sqlite3 .dump` or GET /backup?format=sql writes), either of them
// possibly gzip- or zstd-compressed (recognised by their magic numbers).
//
// The result holds user tables only: an upload with any `_sqlrep_` object is refused (a
// restore must not carry replication state into user data). Checks: the SQLite header,
// PRAGMA integrity_check, UTF-8 text, the size limit (compressed and decompressed). A dump
// runs under an authorizer that refuses ATTACH, DETACH, and every pragma but
// foreign_keys, with defensive mode on and extensions off; a file is opened with
// trusted_schema off. A file of another page size is rewritten to `page_size` through an
// SQL dump (sql_dump.hpp; rowids kept), so it can be installed into a node's database (the
// backup API cannot change a WAL database's page size).
//
// Blocks on file and SQLite I/O (call it on a pool or writer thread). Throws
// Error(bad_request) for an upload that is not sound, Error(too_large) past the limit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sqlrep {

enum class UploadFormat { sqlite, sql };

// The format a Content-Type names: application/octet-stream, application/x-sqlite3 and
// application/vnd.sqlite3 are a SQLite file; application/sql and text/plain (any
// parameters) an SQL dump. nullopt for an empty or unknown type (then the bytes decide).
std::optional<UploadFormat> upload_format_from_content_type(std::string_view content_type);

struct CheckedDatabase {
    std::string path;  // the checked SQLite file (rollback journal, no WAL)
    uint64_t bytes = 0;
    std::size_t tables = 0;                      // user tables in it
    std::string checksum;                        // XXH3-128 of the file, hex
    UploadFormat format = UploadFormat::sqlite;  // what the upload was
};

// Reads the upload at `upload_path` and writes the checked database to `out_path`
// (replaced if present; removed again on failure). `declared`: the Content-Type's format,
// if any; a declared SQLite file must start with SQLite's header. `upload_path` is left
// as it was.
CheckedDatabase check_database_upload(const std::string& upload_path,
                                      std::optional<UploadFormat> declared,
                                      const std::string& out_path, int page_size,
                                      uint64_t max_bytes);

// The 16 bytes every SQLite database file starts with.
inline constexpr std::string_view kSqliteHeader{"SQLite format 3\0", 16};

}  // namespace sqlrep
