// The replication stream's messages: round trips and every malformed form.

#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/effects.hpp"
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
    EffectWriter body;
    body.schema("CREATE TABLE t" + std::to_string(index) + "(v)");
    e.body = body.take();
    e.hash = chain_hash(previous, e);
    return e;
}

}  // namespace

TEST_CASE("an entries frame round-trips every field", "[shared]") {
    Entry a = entry(1, Hash{});
    a.index = std::numeric_limits<int64_t>::max();
    a.time_ms = -1;
    Entry b = entry(2, a.hash);
    b.term = std::numeric_limits<int64_t>::max();
    b.body = std::string("Q\0\xff\"", 4);  // bytes as they are, whatever they are
    Entry c = entry(3, b.hash);
    c.body.clear();
    std::vector<Entry> back = decode_stream_entries(encode_stream_entries({a, b, c}));
    REQUIRE(back.size() == 3);
    check_same_entry(back[0], a);
    check_same_entry(back[1], b);
    check_same_entry(back[2], c);
}

TEST_CASE(
    "an entries frame is SRE3 then index, term, time_ms, hash, request_id size, body size, "
    "request_id and body",
    "[shared]") {
    // docs/PROTOCOL.md, stream protocol 4: integers little-endian, the hash as it is.
    Entry e;
    e.index = 0x0102030405060708;
    e.term = 2;
    e.time_ms = -2;
    for (std::size_t i = 0; i < e.hash.size(); ++i) e.hash[i] = static_cast<uint8_t>(0xa0 + i);
    e.request_id = "r-7";
    e.body = "body";
    std::string expected = "SRE3";
    expected += std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    expected += std::string("\x02\0\0\0\0\0\0\0", 8);
    expected += std::string(8, '\xff').replace(0, 1, "\xfe");
    for (uint8_t byte : e.hash) expected.push_back(static_cast<char>(byte));
    expected += std::string("\x03\0", 2);
    expected += std::string("\x04\0\0\0", 4);
    expected += "r-7";
    expected += "body";
    CHECK(encode_stream_entries({e}) == expected);
    CHECK(kStreamProtocol == 4);

    e.request_id.clear();  // none: size 0, no bytes
    expected.erase(expected.size() - 7, 3);
    expected[4 + 40] = '\0';
    CHECK(encode_stream_entries({e}) == expected);
}

TEST_CASE("an entries frame round-trips request ids", "[shared]") {
    Entry a = entry(1, Hash{});
    a.request_id = std::string(128, '~');
    a.hash = chain_hash(Hash{}, a);
    Entry b = entry(2, a.hash);
    Entry c = entry(3, b.hash);
    c.request_id = " 1";
    std::vector<Entry> back = decode_stream_entries(encode_stream_entries({a, b, c}));
    REQUIRE(back.size() == 3);
    CHECK(back[0].request_id == a.request_id);
    CHECK(back[1].request_id.empty());
    CHECK(back[2].request_id == " 1");
    CHECK(back[0].hash == chain_hash(Hash{}, back[0]));
}

TEST_CASE("an entries frame with a request_id too long or not printable is rejected", "[shared]") {
    Entry e = entry(1, Hash{});
    SECTION("129 characters") { e.request_id = std::string(129, 'a'); }
    SECTION("a control character") { e.request_id = "a\tb"; }
    SECTION("a byte past ASCII") { e.request_id = "caf\xc3\xa9"; }
    REQUIRE_THROWS_KIND(decode_stream_entries(encode_stream_entries({e})), ErrorKind::bad_request);
}

TEST_CASE("an entries frame of a previous layout (SRE1, SRE2) is rejected", "[shared]") {
    for (char version : {'1', '2'}) {
        std::string old = encode_stream_entries({entry(1, Hash{})});
        old[3] = version;
        REQUIRE_THROWS_KIND(decode_stream_entries(old), ErrorKind::bad_request);
    }
}

TEST_CASE("entries encoded one by one join into the same frame", "[shared]") {
    Entry a = entry(1, Hash{});
    Entry b = entry(2, a.hash);
    std::string ea = encode_stream_entry(a), eb = encode_stream_entry(b);
    CHECK(join_stream_entries({&ea, &eb}) == encode_stream_entries({a, b}));
}

TEST_CASE("a malformed entries frame is rejected", "[shared]") {
    Entry second = entry(2, Hash{});
    second.request_id = "id-2";
    const std::string good = encode_stream_entries({entry(1, Hash{}), second});
    SECTION("no entry at all") {
        REQUIRE_THROWS_KIND(decode_stream_entries(encode_stream_entries({})),
                            ErrorKind::bad_request);
    }
    SECTION("a wrong tag, or none") {
        REQUIRE_THROWS_KIND(decode_stream_entries(""), ErrorKind::bad_request);
        REQUIRE_THROWS_KIND(decode_stream_entries("X" + good.substr(1)), ErrorKind::bad_request);
        REQUIRE_THROWS_KIND(decode_stream_entries(R"({"type":"heartbeat","commit_index":1})"),
                            ErrorKind::bad_request);
    }
    SECTION("cut anywhere: inside a record's head or its body, or one byte short") {
        // Every proper prefix past the tag fails, except the one that ends exactly after
        // the first entry (a frame of one entry).
        const std::size_t first = encode_stream_entries({entry(1, Hash{})}).size();
        for (std::size_t size = 5; size < good.size(); ++size) {
            INFO(size);
            if (size == first)
                CHECK(decode_stream_entries(good.substr(0, size)).size() == 1);
            else
                REQUIRE_THROWS_KIND(decode_stream_entries(good.substr(0, size)),
                                    ErrorKind::bad_request);
        }
    }
    SECTION("a body size past the end of the frame") {
        std::string bad = good;
        bad[4 + 42 + 3] = '\x7f';  // the first record's body size, most significant byte
        REQUIRE_THROWS_KIND(decode_stream_entries(bad), ErrorKind::bad_request);
    }
    SECTION("a request_id size past the end of the frame") {
        std::string bad = good;
        bad[4 + 40 + 1] = '\x7f';  // the first record's request_id size, high byte
        REQUIRE_THROWS_KIND(decode_stream_entries(bad), ErrorKind::bad_request);
    }
}

TEST_CASE("an entries frame with index or term below 1 is rejected", "[shared]") {
    Entry e = entry(1, Hash{});
    SECTION("index 0") { e.index = 0; }
    SECTION("negative index") { e.index = -1; }
    SECTION("term 0") { e.term = 0; }
    REQUIRE_THROWS_KIND(decode_stream_entries(encode_stream_entries({e})), ErrorKind::bad_request);
}

TEST_CASE("a heartbeat round-trips", "[shared]") {
    StreamMessage m = decode_stream_message(encode_stream_heartbeat(42));
    CHECK(m.type == StreamMessage::Type::heartbeat);
    CHECK(m.commit_index == 42);
    CHECK(decode_stream_message(encode_stream_heartbeat(0)).commit_index == 0);
}

TEST_CASE("an error message round-trips with its kind", "[shared]") {
    auto kind = GENERATE(StreamRefusal::diverged, StreamRefusal::master_behind,
                         StreamRefusal::stale_term, StreamRefusal::other);
    StreamMessage m = decode_stream_message(encode_stream_error(kind, "too far behind"));
    CHECK(m.type == StreamMessage::Type::error);
    CHECK(m.refusal == kind);
    CHECK(m.error == "too far behind");
    // A kind this version does not know is "other", never a guess from the text.
    m = decode_stream_message(R"({"type":"error","kind":"new","error":"diverged: x"})");
    CHECK(m.refusal == StreamRefusal::other);
}

TEST_CASE("a stream hello round-trips", "[shared]") {
    StreamHello hello;
    hello.node_id = 2;
    hello.from = 41;
    hello.hash = chain_hash(Hash{}, Entry{});
    hello.last_term = 3;
    hello.term = 4;
    hello.url = "https://127.0.0.1:8082";
    hello.wants_snapshot = true;
    StreamHello back = decode_stream_hello(encode_stream_hello(hello));
    CHECK(back.node_id == 2);
    CHECK(back.from == 41);
    CHECK(back.hash == hello.hash);
    CHECK(back.last_term == 3);
    CHECK(back.term == 4);
    CHECK(back.url == hello.url);
    CHECK(back.wants_snapshot);
    CHECK(back.proto == kStreamProtocol);
}

TEST_CASE("a malformed stream hello is rejected with bad_request", "[shared]") {
    auto target =
        GENERATE(as<std::string>{},
                 "/_cluster/stream?node_id=1&from=0&last_term=0&proto=4",  // no term
                 "/_cluster/stream?node_id=1&from=-1&last_term=0&term=0&proto=4",
                 "/_cluster/stream?node_id=1&from=5&last_term=1&term=1&proto=4",  // no hash
                 "/_cluster/stream?node_id=1&from=0&last_term=2&term=1&proto=4",
                 "/_cluster/stream?node_id=x&from=0&last_term=0&term=0&proto=4",
                 "/_cluster/stream?node_id=1&from=0&last_term=0&term=0&proto=4&hash=zz",
                 "/_cluster/stream?node_id=1&from=0&last_term=0&term=0&proto=4&url=a%20b");
    try {
        decode_stream_hello(target);
        FAIL("accepted " << target);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::bad_request);
    }
}

TEST_CASE("a hello of another protocol version decodes for a named refusal", "[shared]") {
    StreamHello hello = decode_stream_hello("/_cluster/stream?replica_id=1&from=0&proto=3");
    CHECK(hello.proto == 3);
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
    // Entries come only in binary frames.
    REQUIRE_THROWS_KIND(decode_stream_message(R"({"type":"entries","entries":[]})"),
                        ErrorKind::bad_request);
}

TEST_CASE("a heartbeat with a missing or negative commit index is rejected", "[shared]") {
    auto text = GENERATE(
        as<std::string>{}, R"({"type":"heartbeat"})", R"({"type":"heartbeat","commit_index":-1})",
        R"({"type":"heartbeat","commit_index":"5"})", R"({"type":"heartbeat","commit_index":1.5})");
    INFO(text);
    REQUIRE_THROWS_KIND(decode_stream_message(text), ErrorKind::bad_request);
}

TEST_CASE("a negative ack is rejected", "[shared]") {
    REQUIRE_THROWS_KIND(decode_stream_ack(R"({"type":"ack","applied":-1})"),
                        ErrorKind::bad_request);
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
    std::string nested =
        R"({"type":"error","error":)" + std::string(50, '[') + std::string(50, ']') + "}";
    REQUIRE_THROWS_KIND(decode_stream_message(nested), ErrorKind::bad_request);
}
