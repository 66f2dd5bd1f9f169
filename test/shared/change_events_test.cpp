// The change feed's event format (change_events.hpp): each row change an entry made, with
// its column names from the table's schema, its key, and values typed as the API types them.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/change_events.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

// A master recording writes, and a reader on the same file that names their changes.
struct Feed {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    RecordingMaster master{path};
    std::unique_ptr<Connection> reader = open_reader(path);
    ChangeEvents events;
    int64_t index = 0;

    std::vector<json::object> write(const std::string& sql) {
        Entry entry;
        entry.index = ++index;
        entry.term = 3;
        entry.time_ms = 1764732000123;
        entry.body = master.write(sql);
        return events.of_entry(*reader, entry);
    }
};

}  // namespace

TEST_CASE("change events name the columns, the rowid and the primary key", "[shared][changes]") {
    Feed f;
    f.write("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, score REAL, pic BLOB)");
    auto ins = f.write("INSERT INTO users VALUES(5, 'ann', 0.1, x'00ff')");
    REQUIRE(ins.size() == 1);
    const auto& e = ins[0];
    CHECK(e.at("index") == 2);
    CHECK(e.at("position") == 0);
    CHECK(e.at("term") == 3);
    CHECK(e.at("time_ms") == 1764732000123);
    CHECK(e.at("time") == "2025-12-03T03:20:00.123Z");
    CHECK(e.at("op") == "insert");
    CHECK(e.at("table") == "users");
    CHECK(e.at("rowid") == 5);
    CHECK(e.at("key") == json::object{{"id", 5}});
    CHECK(e.at("old").is_null());
    CHECK(e.at("new") ==
          json::object{{"id", 5}, {"name", "ann"}, {"score", 0.1}, {"pic", {{"blob", "AP8="}}}});
    CHECK(json::serialize(e.at("new").at("score")) == "1E-1");

    auto upd = f.write("UPDATE users SET name = NULL, id = 6 WHERE id = 5");
    REQUIRE(upd.size() == 1);
    CHECK(upd[0].at("op") == "update");
    CHECK(upd[0].at("rowid") == 6);
    CHECK(upd[0].at("old_rowid") == 5);
    CHECK(upd[0].at("old").at("name") == "ann");
    CHECK(upd[0].at("new").at("name").is_null());

    auto del = f.write("DELETE FROM users");
    REQUIRE(del.size() == 1);
    CHECK(del[0].at("op") == "delete");
    CHECK(del[0].at("rowid") == 6);
    CHECK(del[0].at("key") == json::object{{"id", 6}});
    CHECK(del[0].at("new").is_null());
    CHECK(del[0].at("old").at("id") == 6);
}

TEST_CASE("change events of a WITHOUT ROWID table carry its key and no rowid",
          "[shared][changes]") {
    Feed f;
    f.write("CREATE TABLE kv(b TEXT, a INTEGER, v, PRIMARY KEY(a, b)) WITHOUT ROWID");
    auto ins = f.write("INSERT INTO kv VALUES('x', 1, 'v1')");
    REQUIRE(ins.size() == 1);
    CHECK(!ins[0].contains("rowid"));
    CHECK(ins[0].at("key") == json::object{{"a", 1}, {"b", "x"}});
    CHECK(ins[0].at("new") == json::object{{"b", "x"}, {"a", 1}, {"v", "v1"}});
}

TEST_CASE("a table without a primary key has a rowid and no key", "[shared][changes]") {
    Feed f;
    f.write("CREATE TABLE t(a, b)");
    auto ins = f.write("INSERT INTO t(rowid, a, b) VALUES(7, 1.5, NULL)");
    REQUIRE(ins.size() == 1);
    CHECK(ins[0].at("rowid") == 7);
    CHECK(!ins[0].contains("key"));
}

TEST_CASE("a schema change is an event of its own and later changes see the new schema",
          "[shared][changes]") {
    Feed f;
    auto create = f.write("CREATE TABLE t(a)");
    REQUIRE(create.size() == 1);
    CHECK(create[0].at("op") == "schema");
    CHECK(create[0].at("sql").as_string().find("CREATE TABLE") != std::string::npos);
    CHECK(!create[0].contains("table"));

    f.write("INSERT INTO t VALUES(1)");
    auto alter = f.write("ALTER TABLE t ADD COLUMN b DEFAULT 9");
    REQUIRE(alter.size() == 1);
    auto ins = f.write("INSERT INTO t VALUES(2, 3)");
    REQUIRE(ins.size() == 1);
    CHECK(ins[0].at("new") == json::object{{"a", 2}, {"b", 3}});
}

TEST_CASE("an old change keeps the names of the columns that still exist", "[shared][changes]") {
    Feed f;
    f.write("CREATE TABLE t(a, b)");
    Entry old_insert;
    old_insert.index = 2;
    old_insert.body = f.master.write("INSERT INTO t VALUES(1, 2)");
    f.master.write("ALTER TABLE t ADD COLUMN c");
    // Read after the ALTER: one column more than the change carries.
    ChangeEvents late;
    auto events = late.of_entry(*f.reader, old_insert);
    REQUIRE(events.size() == 1);
    CHECK(events[0].at("new") == json::object{{"a", 1}, {"b", 2}});

    f.master.write("DROP TABLE t");
    ChangeEvents after_drop;
    events = after_drop.of_entry(*f.reader, old_insert);
    REQUIRE(events.size() == 1);
    CHECK(events[0].at("table") == "t");
    CHECK(events[0].at("new") == json::object{{"$0", 1}, {"$1", 2}});
    CHECK(!events[0].contains("key"));
}

TEST_CASE("one entry's trigger and cascade changes come in order with their positions",
          "[shared][changes]") {
    Feed f;
    f.master.conn().exec_internal("PRAGMA foreign_keys = ON");
    f.write("CREATE TABLE parent(id INTEGER PRIMARY KEY)");
    f.write(
        "CREATE TABLE child(id INTEGER PRIMARY KEY, p REFERENCES parent(id) "
        "ON DELETE CASCADE)");
    f.write("CREATE TABLE audit(n INTEGER PRIMARY KEY AUTOINCREMENT, what)");
    f.write(
        "CREATE TRIGGER log_parent AFTER DELETE ON parent BEGIN "
        "INSERT INTO audit(what) VALUES('gone ' || old.id); END");
    f.write("INSERT INTO parent VALUES(1)");
    f.write("INSERT INTO child VALUES(10, 1)");
    auto del = f.write("DELETE FROM parent WHERE id = 1");
    // The sqlite_sequence update of the AUTOINCREMENT insert makes no event.
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < del.size(); ++i) {
        CHECK(del[i].at("position") == static_cast<int64_t>(i));
        seen.push_back(std::string(del[i].at("op").as_string()) + " " +
                       std::string(del[i].at("table").as_string()));
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::string>{"delete child", "delete parent", "insert audit"});
}

TEST_CASE("a restore is an event of its own, with no table", "[shared][changes]") {
    Feed f;
    Entry restore;
    restore.index = 7;
    restore.term = 2;
    EffectWriter body;
    body.restore("3 tables, 5459968 bytes");
    restore.body = body.take();
    auto events = f.events.of_entry(*f.reader, restore);
    REQUIRE(events.size() == 1);
    CHECK(events[0].at("op") == "restore");
    CHECK(events[0].at("index") == 7);
    CHECK(events[0].at("digest") == "3 tables, 5459968 bytes");
    CHECK_FALSE(events[0].contains("table"));
}

TEST_CASE("iso8601_utc prints milliseconds in UTC", "[shared][changes]") {
    CHECK(iso8601_utc(0) == "1970-01-01T00:00:00.000Z");
    CHECK(iso8601_utc(1764732000123) == "2025-12-03T03:20:00.123Z");
    CHECK(iso8601_utc(-1) == "1969-12-31T23:59:59.999Z");
}
