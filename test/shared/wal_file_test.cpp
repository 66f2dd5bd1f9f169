// The sqlrep VFS's WAL file wrapper gathers a commit's frame writes into one write. These
// check that it does, and that nothing it holds back is ever missing where SQLite or
// another connection expects it: at commit with and without a sync, for a transaction
// larger than one write, after a rollback, and after reopening the file.

#include <catch2/catch.hpp>

#include "shared/wal_file.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

// Inserts `rows` rows of `bytes` random bytes each into t, inside whatever transaction
// is open.
void insert_blobs(Connection& conn, int rows, int bytes) {
    run(conn,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO t SELECT randomblob(?) FROM n",
        json::array{rows, bytes});
}

}  // namespace

TEST_CASE("a commit's WAL frames reach the file in one write", "[shared]") {
    ScratchDb db;
    run(*db.writer, "CREATE TABLE t(x)");
    uint64_t before = wal_writes_passed_on();
    db.writer->exec_internal("BEGIN IMMEDIATE");
    insert_blobs(*db.writer, 10, 3000);  // about ten pages: twenty frame writes from SQLite
    db.writer->exec_internal("COMMIT");
    CHECK(wal_writes_passed_on() - before == 1);
    auto reader = open_reader(db.path);
    CHECK(scalar(*reader, "SELECT count(*) FROM t") == 10);
}

TEST_CASE("a transaction larger than one WAL write commits whole", "[shared]") {
    ScratchDb db;
    run(*db.writer, "CREATE TABLE t(x)");
    uint64_t before = wal_writes_passed_on();
    db.writer->exec_internal("BEGIN IMMEDIATE");
    insert_blobs(*db.writer, 600, 3500);  // about 2.5 MiB, far past one 96 KiB write
    db.writer->exec_internal("COMMIT");
    uint64_t writes = wal_writes_passed_on() - before;
    CHECK(writes >= 20);  // split into writes the unix VFS takes whole (at most 128 KiB)
    CHECK(writes < 600);  // still gathered: SQLite issued two writes per page
    auto reader = open_reader(db.path);
    CHECK(scalar(*reader, "SELECT count(*) FROM t") == 600);
    CHECK(scalar(*reader, "SELECT sum(length(x)) FROM t") == 600 * 3500);
    CHECK(internal_scalar(*db.writer, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("with --sync normal another connection sees a commit at once", "[shared]") {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    auto writer = std::make_unique<Connection>(path, Connection::Mode::writer, SyncMode::normal);
    run(*writer, "CREATE TABLE t(x)");
    auto reader = open_reader(path);
    for (int round = 1; round <= 5; ++round) {
        uint64_t before = wal_writes_passed_on();
        writer->exec_internal("BEGIN IMMEDIATE");
        insert_blobs(*writer, 5, 3000);
        writer->exec_internal("COMMIT");  // no sync: the frames go out at the index barrier
        CHECK(wal_writes_passed_on() - before == 1);
        CHECK(scalar(*reader, "SELECT count(*) FROM t") == round * 5);
        CHECK(scalar(*reader, "SELECT sum(length(x)) FROM t") == round * 5 * 3000);
    }
}

TEST_CASE("a rolled-back transaction that spilled to the WAL leaves nothing behind", "[shared]") {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    {
        auto writer = open_writer(path);
        run(*writer, "CREATE TABLE t(x)");
        // A tiny page cache makes SQLite write frames to the WAL before the commit.
        writer->exec_internal("PRAGMA cache_size=5");
        writer->exec_internal("BEGIN IMMEDIATE");
        insert_blobs(*writer, 200, 3000);
        writer->exec_internal("ROLLBACK");
        run(*writer, "INSERT INTO t VALUES ('kept')");
        auto reader = open_reader(path);
        CHECK(scalar(*reader, "SELECT count(*) FROM t") == 1);
        CHECK(internal_scalar(*writer, "PRAGMA integrity_check") == "ok");
    }
    // Reopened with no connection left, SQLite rebuilds its index from the WAL file alone.
    auto writer = open_writer(path);
    CHECK(scalar(*writer, "SELECT x FROM t") == "kept");
    CHECK(internal_scalar(*writer, "PRAGMA integrity_check") == "ok");
}
