// A writer whose checkpoints run in the background (checkpointer.hpp): under steady writes
// its WAL still starts over again and again, every commit stays readable, and a reader's
// snapshot survives a checkpoint round.

#include <fstream>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

constexpr int kStartFrames = 200;

// The WAL header's checkpoint sequence number: SQLite adds one each time the WAL restarts
// from its beginning.
uint32_t wal_restarts(const std::string& db_path) {
    std::ifstream wal(db_path + "-wal", std::ios::binary);
    unsigned char header[16] = {};
    if (!wal.read(reinterpret_cast<char*>(header), sizeof header)) return 0;
    return uint32_t(header[12]) << 24 | uint32_t(header[13]) << 16 | uint32_t(header[14]) << 8 |
           uint32_t(header[15]);
}

// Commits one row at a time, with no pause between commits, until the WAL has restarted
// `restarts` more times or `max_commits` went by; returns the number of commits.
int write_until_restarts(Connection& writer, const std::string& path, uint32_t restarts,
                         int max_commits) {
    const uint32_t target = wal_restarts(path) + restarts;
    int commits = 0;
    while (commits < max_commits && wal_restarts(path) < target) {
        run(writer, "INSERT INTO t VALUES (randomblob(3000))");
        ++commits;
    }
    return commits;
}

// A --sync normal writer (quick commits) with its checkpointer, and a table t(x).
std::unique_ptr<Connection> open_checkpointing_writer(const std::string& path) {
    auto writer = std::make_unique<Connection>(path, Connection::Mode::writer, SyncMode::normal);
    writer->checkpoint_in_background(kStartFrames);
    run(*writer, "CREATE TABLE t(x)");
    return writer;
}

}  // namespace

TEST_CASE("background checkpoints restart the WAL under steady writes", "[shared]") {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    auto writer = open_checkpointing_writer(path);

    // Each commit adds a page or two: 20000 commits are a hundred times the start.
    int commits = write_until_restarts(*writer, path, 5, 20000);
    CHECK(wal_restarts(path) >= 5);

    auto reader = open_reader(path);
    CHECK(scalar(*reader, "SELECT count(*) FROM t") == commits);
    CHECK(internal_scalar(*writer, "PRAGMA integrity_check") == "ok");

    writer.reset();  // closing the last writer checkpoints and stops the thread
    reader = open_reader(path);
    CHECK(scalar(*reader, "SELECT count(*) FROM t") == commits);
}

TEST_CASE("a reader's snapshot outlives a background checkpoint round", "[shared]") {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    auto writer = open_checkpointing_writer(path);
    int before = write_until_restarts(*writer, path, 1, 20000);

    auto reader = open_reader(path);
    reader->exec_internal("BEGIN");
    CHECK(scalar(*reader, "SELECT count(*) FROM t") == before);
    // Well past several starts: the WAL cannot restart under the open snapshot, and the
    // checkpoints copy only what the reader does not need from the WAL.
    for (int i = 0; i < 10 * kStartFrames; ++i)
        run(*writer, "INSERT INTO t VALUES (randomblob(3000))");
    CHECK(scalar(*reader, "SELECT count(*) FROM t") == before);
    CHECK(scalar(*reader, "SELECT sum(length(x)) FROM t") == before * 3000);
    reader->exec_internal("COMMIT");

    int after = write_until_restarts(*writer, path, 1, 20000);
    CHECK(wal_restarts(path) >= 2);
    CHECK(scalar(*reader, "SELECT count(*) FROM t") == before + 10 * kStartFrames + after);
    CHECK(internal_scalar(*writer, "PRAGMA integrity_check") == "ok");
}
