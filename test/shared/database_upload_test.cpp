// check_database_upload and write_sql_dump on real files: a dump reloads to the same
// checksums (rowids included), a file of another page size or in WAL mode is taken with
// its rowids, compressed uploads are read, and every unsound upload is refused with the
// right error and leaves no file behind.

#include <filesystem>
#include <fstream>
#include <string>

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "shared/compression.hpp"
#include "shared/database_upload.hpp"
#include "shared/replication_log.hpp"
#include "shared/sql_dump.hpp"
#include "shared/table_checksum.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

constexpr uint64_t kLimit = 64 * 1024 * 1024;

// A plain SQLite file, made the way a user's own tools make one.
void make_file(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string why = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(why);
    REQUIRE(rc == SQLITE_OK);
}

std::string dump_of(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    std::string out;
    write_sql_dump(db, [&](std::string_view piece) { out.append(piece); });
    sqlite3_close(db);
    return out;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// Per-table checksums, as /checksum computes them (on a copy given the log tables that
// checksum_database reads its index from).
std::vector<TableChecksum> checksums(const std::string& path) {
    std::string copy = path + ".checksummed";
    std::filesystem::copy_file(path, copy, std::filesystem::copy_options::overwrite_existing);
    auto writer = open_writer(copy);
    ensure_log_schema(*writer);
    return checksum_database(*writer).tables;
}

bool same(const std::vector<TableChecksum>& a, const std::vector<TableChecksum>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].name != b[i].name || a[i].rows != b[i].rows || a[i].checksum != b[i].checksum)
            return false;
    return true;
}

const char* kSchema =
    "CREATE TABLE plain(a, b);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
    "INSERT INTO plain SELECT i, randomblob(i % 50) FROM n;"
    "DELETE FROM plain WHERE a % 3 = 0;"
    "CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, r REAL, t TEXT);"
    "INSERT INTO seq(r, t) VALUES (0.1, 'a''b'), (1e-300, NULL), (-0.0, 'x\ny');"
    "DELETE FROM seq WHERE id = 3;"
    "CREATE TABLE wr(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "INSERT INTO wr VALUES ('z', 1), ('a', 2);"
    "CREATE TABLE g(x, y AS (x * 2));"
    "INSERT INTO g(x) VALUES (4);"
    "CREATE INDEX plain_a ON plain(a);"
    "CREATE VIEW v AS SELECT * FROM wr;"
    "CREATE TRIGGER tr AFTER DELETE ON wr BEGIN DELETE FROM g; END;";

}  // namespace

TEST_CASE("an SQL dump reloads to the same checksums, rowids included", "[shared]") {
    TempDir dir;
    std::string original = dir.file("original.db");
    make_file(original, kSchema);
    std::string dump = dir.file("dump.sql");
    write_text(dump, dump_of(original));
    CheckedDatabase checked =
        check_database_upload(dump, UploadFormat::sql, dir.file("loaded.db"), 4096, kLimit);
    CHECK(checked.format == UploadFormat::sql);
    CHECK(checked.tables == 4);  // plain, seq, wr, g (sqlite_sequence is SQLite's)
    CHECK(same(checksums(checked.path), checksums(original)));
    // The dump of the loaded database is the same text.
    CHECK(dump_of(checked.path) == dump_of(original));
}

TEST_CASE("a SQLite file of another page size, in WAL mode, is taken with its rowids", "[shared]") {
    TempDir dir;
    std::string original = dir.file("wal.db");
    std::string sql = "PRAGMA page_size=1024; PRAGMA journal_mode=WAL;";
    sql.append(kSchema);
    make_file(original, sql);
    CheckedDatabase checked =
        check_database_upload(original, std::nullopt, dir.file("checked.db"), 4096, kLimit);
    CHECK(checked.format == UploadFormat::sqlite);
    CHECK(same(checksums(checked.path), checksums(original)));
    auto reader = open_reader(checked.path);
    CHECK(internal_scalar(*reader, "PRAGMA page_size").as_int64() == 4096);
    CHECK(internal_scalar(*reader, "PRAGMA journal_mode") == "delete");
}

TEST_CASE("compressed uploads are read, within the limit once decompressed", "[shared]") {
    TempDir dir;
    std::string original = dir.file("original.db");
    make_file(original, kSchema);
    std::string text = dump_of(original);
    for (Codec codec : {Codec::gzip, Codec::zstd}) {
        std::string packed;
        Compressor compressor(codec);
        compressor.write(text, packed);
        compressor.finish(packed);
        std::string upload = dir.file(std::string("dump.sql") + codec_file_suffix(codec));
        write_text(upload, packed);
        CheckedDatabase checked =
            check_database_upload(upload, std::nullopt, dir.file("loaded.db"), 4096, kLimit);
        CHECK(same(checksums(checked.path), checksums(original)));
        REQUIRE_THROWS_KIND(check_database_upload(upload, std::nullopt, dir.file("small.db"), 4096,
                                                  text.size() / 2),
                            ErrorKind::too_large);
        CHECK_FALSE(std::filesystem::exists(dir.file("small.db")));
    }
}

TEST_CASE("unsound uploads are refused and leave nothing behind", "[shared]") {
    TempDir dir;
    std::string good = dir.file("good.db");
    make_file(good, kSchema);
    std::string reserved = dir.file("reserved.db");
    make_file(reserved, "CREATE TABLE _SQLREP_log(x)");
    std::string utf16 = dir.file("utf16.db");
    make_file(utf16, "PRAGMA encoding='UTF-16le'; CREATE TABLE t(x)");
    std::string damaged = dir.file("damaged.db");
    std::filesystem::copy_file(good, damaged);
    {
        std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4096 + 8);
        std::string junk(200, '\xA5');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    int n = 0;
    auto refused = [&](const char* what, const std::string& text, const std::string& path,
                       std::optional<UploadFormat> declared, ErrorKind kind) {
        INFO(what);
        std::string upload = path;
        if (upload.empty()) {
            upload = dir.file("upload-" + std::to_string(++n));
            write_text(upload, text);
        }
        std::string out = dir.file("out.db");
        REQUIRE_THROWS_KIND(check_database_upload(upload, declared, out, 4096, 64 * 1024), kind);
        CHECK_FALSE(std::filesystem::exists(out));
        CHECK_FALSE(std::filesystem::exists(out + ".plain"));
        CHECK_FALSE(std::filesystem::exists(dir.file("elsewhere.db")));
    };
    const auto bad = ErrorKind::bad_request;
    const auto sql = UploadFormat::sql;
    refused("text declared a SQLite file", "hello", "", UploadFormat::sqlite, bad);
    refused("not SQL", "hello world;", "", std::nullopt, bad);
    refused("binary", std::string("ab\0cd", 5), "", std::nullopt, bad);
    refused("empty", "", "", sql, bad);
    refused("only a comment", "-- nothing\n", "", sql, bad);
    refused("cut inside a transaction", "BEGIN;\nCREATE TABLE t(x);\n", "", sql, bad);
    refused("cut inside a statement", "CREATE TABLE t(x);\nINSERT INTO t VALUES ('a", "", sql, bad);
    refused("ATTACH", "ATTACH 'other.db' AS o;", "", sql, bad);
    refused("a pragma", "PRAGMA writable_schema=ON;", "", sql, bad);
    refused("VACUUM INTO", "CREATE TABLE t(x); VACUUM INTO 'elsewhere.db';", "", sql, bad);
    refused("load_extension", "SELECT load_extension('x');", "", sql, bad);
    refused("a reserved table in a dump", "CREATE TABLE _sqlrep_meta(k, v);", "", sql, bad);
    refused("a reserved index in a dump", "CREATE TABLE t(x); CREATE INDEX _sqlrep_i ON t(x);", "",
            sql, bad);
    refused("a reserved table in a file", "", reserved, UploadFormat::sqlite, bad);
    refused("a table that hides its rowid", "CREATE TABLE h(rowid, _rowid_, oid);", "", sql, bad);
    refused("UTF-16", "", utf16, std::nullopt, bad);
    refused("a damaged file", "", damaged, std::nullopt, bad);
    std::string big(70 * 1024, ' ');
    big.append("CREATE TABLE t(x);");
    refused("over the limit", big, "", sql, ErrorKind::too_large);
}

TEST_CASE("upload formats from Content-Type", "[shared]") {
    CHECK(upload_format_from_content_type("application/octet-stream") == UploadFormat::sqlite);
    CHECK(upload_format_from_content_type("application/vnd.sqlite3") == UploadFormat::sqlite);
    CHECK(upload_format_from_content_type("application/SQL; charset=utf-8") == UploadFormat::sql);
    CHECK(upload_format_from_content_type("text/plain") == UploadFormat::sql);
    CHECK_FALSE(upload_format_from_content_type("application/x-www-form-urlencoded"));
    CHECK_FALSE(upload_format_from_content_type(""));
}
