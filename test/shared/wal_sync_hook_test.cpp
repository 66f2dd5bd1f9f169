// The hook that lets the master stream a group while its COMMIT's fsync runs: it fires
// once per commit, after the commit is written and before anyone can read it, and not at
// all when a commit does not fsync.

#include <catch2/catch.hpp>

#include "shared/wal_sync_hook.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

TEST_CASE("the WAL sync hook fires once per commit, before readers see it", "[shared]") {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    auto writer = open_writer(path);
    run(*writer, "CREATE TABLE t(x)");
    auto reader = open_reader(path);
    for (int round = 0; round < 3; ++round) {
        int calls = 0;
        json::value seen_then;
        {
            WalSyncHook hook([&] {
                ++calls;
                seen_then = scalar(*reader, "SELECT count(*) FROM t");
            });
            writer->exec_internal("BEGIN IMMEDIATE");
            run(*writer, "INSERT INTO t VALUES (1)");
            writer->exec_internal("COMMIT");
            CHECK(hook.fired());
        }
        CHECK(calls == 1);
        CHECK(seen_then == round);  // the commit was not visible yet
        CHECK(scalar(*reader, "SELECT count(*) FROM t") == round + 1);
    }
}

TEST_CASE("the WAL sync hook does not fire for a commit that does not fsync", "[shared]") {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    auto writer = std::make_unique<Connection>(path, Connection::Mode::writer, SyncMode::normal);
    run(*writer, "CREATE TABLE t(x)");
    WalSyncHook hook([] {});
    run(*writer, "INSERT INTO t VALUES (1)");
    CHECK_FALSE(hook.fired());
}
