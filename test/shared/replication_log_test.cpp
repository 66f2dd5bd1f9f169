// The replication log in the reserved tables of a real SQLite file.

#include <string>

#include <catch2/catch.hpp>

#include "shared/effects.hpp"
#include "shared/replication_log.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

std::vector<Entry> chained_entries(int count, const Hash& start = {}, int64_t first = 1) {
    std::vector<Entry> out;
    Hash previous = start;
    for (int i = 0; i < count; ++i) {
        Entry e;
        e.index = first + i;
        e.term = 1 + i / 2;
        e.time_ms = 1700000000000 + i;
        EffectWriter body;
        body.schema("CREATE TABLE t" + std::to_string(i) + "(v)");
        e.body = body.take();
        e.hash = chain_hash(previous, e);
        previous = e.hash;
        out.push_back(e);
    }
    return out;
}

struct Log : ScratchDb {
    Log() { ensure_log_schema(*writer); }
};

}  // namespace

TEST_CASE("an empty log is at position 0 and starts at index 1", "[shared]") {
    Log log;
    LogPosition p = last_log_position(*log.writer);
    CHECK(p.index == 0);
    CHECK(p.term == 0);
    CHECK(p.hash == Hash{});
    CHECK(first_log_index(*log.writer) == 1);
    CHECK(log_hash_at(*log.writer, 0) == std::optional<Hash>(Hash{}));
    CHECK(log_hash_at(*log.writer, 1) == std::nullopt);
    CHECK(read_log_entries(*log.writer, 1, 10, 1 << 20).empty());
}

TEST_CASE("ensure_log_schema is idempotent and keeps the log", "[shared]") {
    Log log;
    append_log_entry(*log.writer, chained_entries(1)[0]);
    ensure_log_schema(*log.writer);
    CHECK(last_log_position(*log.writer).index == 1);
}

TEST_CASE("appended entries read back field for field", "[shared]") {
    Log log;
    auto entries = chained_entries(5);
    for (auto& e : entries) append_log_entry(*log.writer, e);

    LogPosition p = last_log_position(*log.writer);
    CHECK(p.index == 5);
    CHECK(p.term == entries[4].term);
    CHECK(p.hash == entries[4].hash);
    CHECK(first_log_index(*log.writer) == 1);

    auto all = read_log_entries(*log.writer, 1, 100, 1 << 20);
    REQUIRE(all.size() == 5);
    for (size_t i = 0; i < all.size(); ++i) check_same_entry(all[i], entries[i]);

    auto tail = read_log_entries(*log.writer, 4, 100, 1 << 20);
    REQUIRE(tail.size() == 2);
    CHECK(tail[0].index == 4);
    CHECK(read_log_entries(*log.writer, 6, 100, 1 << 20).empty());
}

TEST_CASE("an entry body of any bytes reads back byte for byte", "[shared]") {
    Log log;
    Entry e = chained_entries(1)[0];
    e.body = std::string("I\0\0\0\0\xff\xfe\x80", 8);  // NULs, invalid UTF-8
    e.hash = chain_hash(Hash{}, e);
    append_log_entry(*log.writer, e);
    auto all = read_log_entries(*log.writer, 1, 10, 1 << 20);
    REQUIRE(all.size() == 1);
    check_same_entry(all[0], e);
}

TEST_CASE("ensure_log_schema refuses a data dir whose log holds statements", "[shared]") {
    ScratchDb db;
    // The log as sqlrep wrote it before entries carried effects.
    db.writer->exec_internal(
        "CREATE TABLE _sqlrep_log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,"
        " time_ms INTEGER NOT NULL, seed INTEGER NOT NULL, changes INTEGER NOT NULL,"
        " hash BLOB NOT NULL, body TEXT NOT NULL)");
    REQUIRE_THROWS_KIND(ensure_log_schema(*db.writer), ErrorKind::internal);
}

TEST_CASE("read_log_entries honours the count and byte limits but returns at least one entry",
          "[shared]") {
    Log log;
    for (auto& e : chained_entries(5)) append_log_entry(*log.writer, e);
    CHECK(read_log_entries(*log.writer, 1, 2, 1 << 20).size() == 2);
    auto one = read_log_entries(*log.writer, 2, 100, 1);
    REQUIRE(one.size() == 1);
    CHECK(one[0].index == 2);
}

TEST_CASE("log_hash_at finds every entry's hash and nothing past the end", "[shared]") {
    Log log;
    auto entries = chained_entries(3);
    for (auto& e : entries) append_log_entry(*log.writer, e);
    for (auto& e : entries) CHECK(log_hash_at(*log.writer, e.index) == std::optional<Hash>(e.hash));
    CHECK(log_hash_at(*log.writer, 4) == std::nullopt);
    CHECK(log_hash_at(*log.writer, -1) == std::nullopt);
}

TEST_CASE("appending an index twice fails and keeps the first entry", "[shared]") {
    Log log;
    auto entries = chained_entries(2);
    append_log_entry(*log.writer, entries[0]);
    Entry again = entries[1];
    again.index = 1;
    REQUIRE_THROWS_KIND(append_log_entry(*log.writer, again), ErrorKind::internal);
    auto all = read_log_entries(*log.writer, 1, 10, 1 << 20);
    REQUIRE(all.size() == 1);
    check_same_entry(all[0], entries[0]);
}

TEST_CASE("the log survives reopening the file", "[shared]") {
    Log log;
    auto entries = chained_entries(3);
    for (auto& e : entries) append_log_entry(*log.writer, e);
    log.writer.reset();
    auto reopened = open_writer(log.path);
    LogPosition p = last_log_position(*reopened);
    CHECK(p.index == 3);
    CHECK(p.hash == entries[2].hash);
    auto reader = open_reader(log.path);
    CHECK(read_log_entries(*reader, 1, 10, 1 << 20).size() == 3);
}

TEST_CASE("a base position recorded in meta is the position of an empty log", "[shared]") {
    Log log;
    Hash base{};
    base[0] = 0x42;
    write_meta(*log.writer, "base_index", "10");
    write_meta(*log.writer, "base_term", "2");
    write_meta(*log.writer, "base_hash", to_hex(base));
    LogPosition p = last_log_position(*log.writer);
    CHECK(p.index == 10);
    CHECK(p.term == 2);
    CHECK(p.hash == base);
    CHECK(first_log_index(*log.writer) == 11);
    CHECK(log_hash_at(*log.writer, 10) == std::optional<Hash>(base));

    auto entries = chained_entries(2, base, 11);
    for (auto& e : entries) append_log_entry(*log.writer, e);
    CHECK(last_log_position(*log.writer).index == 12);
    CHECK(first_log_index(*log.writer) == 11);
}

TEST_CASE("meta values round-trip and can be replaced", "[shared]") {
    Log log;
    CHECK(read_meta(*log.writer, "k") == std::nullopt);
    write_meta(*log.writer, "k", "v1");
    CHECK(read_meta(*log.writer, "k") == std::optional<std::string>("v1"));
    write_meta(*log.writer, "k", "v2");
    CHECK(read_meta(*log.writer, "k") == std::optional<std::string>("v2"));
}

TEST_CASE("an entry's request_id is stored in the log and read back", "[shared]") {
    Log log;
    auto entries = chained_entries(1);
    Entry e = entries[0];
    e.request_id = "client-7/retry";
    e.hash = chain_hash(Hash{}, e);
    append_log_entry(*log.writer, e);
    Entry plain = chained_entries(1, e.hash, 2)[0];
    append_log_entry(*log.writer, plain);
    auto back = read_log_entries(*log.writer, 1, 10, 1 << 20);
    REQUIRE(back.size() == 2);
    CHECK(back[0].request_id == "client-7/retry");
    CHECK(back[1].request_id.empty());
    CHECK(internal_scalar(*log.writer,
                          "SELECT count(*) FROM _sqlrep_log WHERE request_id IS NULL") == 1);
    auto ids = read_log_request_ids(*log.writer, 0);
    REQUIRE(ids.size() == 1);
    CHECK(ids[0] == std::pair<int64_t, std::string>{1, "client-7/retry"});
    CHECK(read_log_request_ids(*log.writer, 1).empty());
}

TEST_CASE("ensure_log_schema adds request_id to a log written before it existed", "[shared]") {
    ScratchDb db;
    db.writer->exec_internal(
        "CREATE TABLE _sqlrep_log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,"
        " time_ms INTEGER NOT NULL, hash BLOB NOT NULL, body BLOB NOT NULL);"
        "CREATE TABLE _sqlrep_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);");
    Entry old = chained_entries(1)[0];
    Hash body_digits{};  // the body as a blob literal: hex of its bytes
    std::string body_hex;
    for (unsigned char c : old.body) {
        body_digits[0] = c;
        body_hex += to_hex(body_digits).substr(0, 2);
    }
    db.writer->exec_internal(
        "INSERT INTO _sqlrep_log (idx, term, time_ms, hash, body) VALUES (1, " +
        std::to_string(old.term) + ", " + std::to_string(old.time_ms) + ", x'" + to_hex(old.hash) +
        "', x'" + body_hex + "')");
    ensure_log_schema(*db.writer);
    auto back = read_log_entries(*db.writer, 1, 10, 1 << 20);
    REQUIRE(back.size() == 1);
    CHECK(back[0].request_id.empty());
    CHECK(chain_hash(Hash{}, back[0]) == old.hash);  // an old log still chains
    Entry next = chained_entries(1, old.hash, 2)[0];
    next.request_id = "r1";
    next.hash = chain_hash(old.hash, next);
    append_log_entry(*db.writer, next);
    CHECK(read_log_entries(*db.writer, 2, 10, 1 << 20).at(0).request_id == "r1");
}
