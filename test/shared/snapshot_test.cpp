// Snapshots copy a database with VACUUM INTO (snapshot.hpp): every row with its rowid,
// tables with neither an INTEGER PRIMARY KEY nor an index included, SQLite's own tables
// included, and only the pages in use.

#include <filesystem>

#include <catch2/catch.hpp>

#include "shared/replication_log.hpp"
#include "shared/snapshot.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

TEST_CASE("a snapshot holds every row with its rowid and leaves the free pages behind",
          "[shared]") {
    ScratchDb db;
    ensure_log_schema(*db.writer);
    run(*db.writer, "CREATE TABLE bare (v)");  // rowids only SQLite knows: no IPK, no index
    run(*db.writer, "CREATE TABLE keyed (k TEXT PRIMARY KEY, v) WITHOUT ROWID");
    run(*db.writer, "CREATE TABLE counted (id INTEGER PRIMARY KEY AUTOINCREMENT, v)");
    run(*db.writer, "CREATE TABLE junk (b BLOB)");
    for (int i = 0; i < 300; ++i) {
        // Scattered rowids, then gaps: a copy that renumbered would show.
        run(*db.writer, "INSERT INTO bare (rowid, v) VALUES (?, ?)",
            json::array{int64_t{7919} * i * i + 13, i});
        run(*db.writer, "INSERT INTO keyed VALUES (?, ?)", json::array{"k" + std::to_string(i), i});
        run(*db.writer, "INSERT INTO counted (v) VALUES (?)", json::array{i});
    }
    run(*db.writer, "INSERT INTO junk SELECT randomblob(100000) FROM counted");  // ~30 MB
    run(*db.writer, "DELETE FROM bare WHERE v % 3 = 0");
    run(*db.writer, "DELETE FROM counted WHERE v % 5 = 0");
    run(*db.writer, "DROP TABLE junk");  // its pages become free pages
    const std::string before = database_content(*db.writer);

    auto reader = open_reader(db.path);
    SnapshotFile snapshot = create_snapshot(*reader);
    INFO("database " << std::filesystem::file_size(db.path) << " bytes, snapshot "
                     << snapshot.bytes);
    CHECK(snapshot.bytes == std::filesystem::file_size(snapshot.path));
    CHECK(snapshot.bytes < 5 * 1024 * 1024);  // the 30 MB of free pages stayed behind
    CHECK(snapshot.checksum == file_checksum(snapshot.path));
    CHECK(snapshot.position.index == last_log_position(*db.writer).index);

    auto copy = open_reader(snapshot.path);
    CHECK(database_content(*copy) == before);
    copy.reset();
    // One self-contained file: opening it made no -wal or -shm.
    CHECK_FALSE(std::filesystem::exists(snapshot.path + "-wal"));
    // The source connection's own sync setting is as it was.
    CHECK(internal_scalar(*reader, "PRAGMA synchronous").as_int64() != 0);
    std::filesystem::remove(snapshot.path);
}
