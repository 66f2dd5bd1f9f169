// PublishedIndex: a reader gets the published index only when no commit on the watched
// writer, and no hide(), can have happened since its ticket; a real SQLite writer's
// commits go through the commit hook.

#include "shared/published_index.hpp"

#include <catch2/catch.hpp>

#include "shared/connection.hpp"
#include "test_support.hpp"

using namespace sqlrep;

TEST_CASE("PublishedIndex hands out the index only while nothing was committed", "[shared]") {
    test::TempDir dir;
    Connection writer(dir.file("db.sqlite"), Connection::Mode::writer);
    writer.exec_internal("CREATE TABLE t (x)");
    PublishedIndex published;
    published.watch(writer.handle());

    SECTION("nothing before the first publish") {
        CHECK_FALSE(published.index_if_unchanged(published.start()));
    }

    published.publish(7);
    SECTION("a published index with no commit since") {
        CHECK(published.index_if_unchanged(published.start()) == 7);
    }
    SECTION("a commit on the writer after the ticket") {
        auto ticket = published.start();
        writer.exec_internal("INSERT INTO t VALUES (1)");
        CHECK_FALSE(published.index_if_unchanged(ticket));
        // Until the next publish every reader goes to the log.
        CHECK_FALSE(published.index_if_unchanged(published.start()));
        published.publish(8);
        CHECK(published.index_if_unchanged(published.start()) == 8);
    }
    SECTION("a publish after the ticket, even of the same index") {
        auto ticket = published.start();
        published.publish(7);
        CHECK_FALSE(published.index_if_unchanged(ticket));
    }
    SECTION("hide") {
        auto ticket = published.start();
        published.hide();
        CHECK_FALSE(published.index_if_unchanged(ticket));
        CHECK_FALSE(published.index_if_unchanged(published.start()));
    }
    SECTION("a rolled back transaction does not commit") {
        auto ticket = published.start();
        writer.exec_internal("BEGIN");
        writer.exec_internal("INSERT INTO t VALUES (2)");
        writer.exec_internal("ROLLBACK");
        CHECK(published.index_if_unchanged(ticket) == 7);
    }
}
