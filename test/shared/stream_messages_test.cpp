// The replication stream's messages: round trips and every malformed form.

#include <string>

#include <catch2/catch.hpp>

#include "shared/stream_messages.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

Entry entry(int64_t index, const Hash& previous) {
    Entry e;
    e.index = index;
    e.term = 1;
    e.time_ms = 1700000000000 + index;
    e.seed = index * 31;
    e.changes = 1;
    e.body = encode_statements({{"INSERT INTO t VALUES (?)", json::array{index}}});
    e.hash = chain_hash(previous, e);
    return e;
}

std::string valid_entry_json() { return json::serialize(entry_to_json(entry(1, Hash{}))); }

}  // namespace

TEST_CASE("an entries message round-trips", "[shared]") {
    Entry a = entry(1, Hash{});
    Entry b = entry(2, a.hash);
    StreamMessage m = decode_stream_message(encode_stream_entries({a, b}));
    CHECK(m.type == StreamMessage::Type::entries);
    REQUIRE(m.entries.size() == 2);
    CHECK(m.entries[0].hash == a.hash);
    CHECK(m.entries[1].body == b.body);
    CHECK(m.entries[1].index == 2);
}

TEST_CASE("a heartbeat round-trips", "[shared]") {
    StreamMessage m = decode_stream_message(encode_stream_heartbeat(42));
    CHECK(m.type == StreamMessage::Type::heartbeat);
    CHECK(m.commit_index == 42);
    CHECK(decode_stream_message(encode_stream_heartbeat(0)).commit_index == 0);
}

TEST_CASE("an error message round-trips", "[shared]") {
    StreamMessage m = decode_stream_message(encode_stream_error("too far behind"));
    CHECK(m.type == StreamMessage::Type::error);
    CHECK(m.error == "too far behind");
}

TEST_CASE("an ack round-trips", "[shared]") {
    CHECK(decode_stream_ack(encode_stream_ack(0)) == 0);
    CHECK(decode_stream_ack(encode_stream_ack(123456789012LL)) == 123456789012LL);
}

TEST_CASE("a stream message that is not JSON is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, "", "hello", "{\"type\":", "{\"type\":\"heartbeat\"");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_message(text), ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(decode_stream_ack(text), ErrorKind::bad_request);
}

TEST_CASE("a stream message that is not an object is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, "[]", "1", "\"heartbeat\"", "null");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_message(text), ErrorKind::bad_request);
}

TEST_CASE("a stream message without a string type is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, "{}", R"({"type":1})", R"({"type":null})");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_message(text), ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(decode_stream_ack(text), ErrorKind::bad_request);
}

TEST_CASE("a stream message of unknown type is rejected", "[shared]") {
    REQUIRE_THROWS_KIND(decode_stream_message(R"({"type":"resync"})"), ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(decode_stream_message(R"({"type":"ack","applied":1})"),
                        ErrorKind::bad_request);
}

TEST_CASE("an entries message with an empty or missing list is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, R"({"type":"entries","entries":[]})",
                         R"({"type":"entries"})", R"({"type":"entries","entries":{}})");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_message(text), ErrorKind::bad_request);
}

TEST_CASE("an entries message with a malformed entry is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, R"({"type":"entries","entries":[1]})",
                         R"({"type":"entries","entries":[{"index":1}]})");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_message(text), ErrorKind::bad_request);
    // One bad entry spoils the whole message, even after good ones.
    std::string mixed = R"({"type":"entries","entries":[)" + valid_entry_json() + R"(,{}]})";
    REQUIRE_THROWS_KIND(decode_stream_message(mixed), ErrorKind::bad_request);
}

TEST_CASE("a heartbeat with a missing or negative commit index is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, R"({"type":"heartbeat"})",
                         R"({"type":"heartbeat","commit_index":-1})",
                         R"({"type":"heartbeat","commit_index":"5"})",
                         R"({"type":"heartbeat","commit_index":1.5})");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_message(text), ErrorKind::bad_request);
}

TEST_CASE("a negative ack is rejected", "[shared]") {
    REQUIRE_THROWS_KIND(decode_stream_ack(R"({"type":"ack","applied":-1})"), ErrorKind::bad_request);
}

TEST_CASE("an ack with a missing or mistyped applied index is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, R"({"type":"ack"})", R"({"type":"ack","applied":"3"})",
                         R"({"type":"ack","applied":null})", R"({"type":"ack","applied":2.5})");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_ack(text), ErrorKind::bad_request);
}

TEST_CASE("a replica may send only acks", "[shared]") {
    REQUIRE_THROWS_KIND(decode_stream_ack(encode_stream_heartbeat(3)), ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(decode_stream_ack(encode_stream_entries({entry(1, Hash{})})),
                        ErrorKind::bad_request);
}

TEST_CASE("a deeply nested stream message is rejected", "[shared]") {
    std::string nested = R"({"type":"error","error":)" + std::string(50, '[') +
                         std::string(50, ']') + "}";
    REQUIRE_THROWS_KIND(decode_stream_message(nested), ErrorKind::bad_request);
}
