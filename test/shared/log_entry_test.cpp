// Log entries: the chained hash, its hex form and the statement body codec.

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "shared/log_entry.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

Entry sample_entry() {
    Entry e;
    e.index = 7;
    e.term = 3;
    e.time_ms = 1700000000123;
    e.seed = -42;
    e.changes = 5;
    e.body = R"J([{"query":"INSERT INTO t VALUES (?)","params":[1]}])J";
    Hash previous{};
    previous[0] = 0xab;
    e.hash = chain_hash(previous, e);
    return e;
}

}  // namespace

// --- chain_hash ----------------------------------------------------------------------------

TEST_CASE("chain_hash is a function of the previous hash and every entry field", "[shared]") {
    Hash previous{};
    previous[15] = 1;
    Entry base = sample_entry();
    const Hash reference = chain_hash(previous, base);
    CHECK(chain_hash(previous, base) == reference);  // deterministic

    SECTION("previous hash") {
        Hash other = previous;
        other[0] ^= 1;
        CHECK(chain_hash(other, base) != reference);
    }
    SECTION("index") {
        base.index += 1;
        CHECK(chain_hash(previous, base) != reference);
    }
    SECTION("term") {
        base.term += 1;
        CHECK(chain_hash(previous, base) != reference);
    }
    SECTION("time_ms") {
        base.time_ms += 1;
        CHECK(chain_hash(previous, base) != reference);
    }
    SECTION("seed") {
        base.seed += 1;
        CHECK(chain_hash(previous, base) != reference);
    }
    SECTION("changes") {
        base.changes += 1;
        CHECK(chain_hash(previous, base) != reference);
    }
    SECTION("body") {
        base.body.back() = ' ';
        CHECK(chain_hash(previous, base) != reference);
    }
    SECTION("the stored hash itself is not an input") {
        base.hash[3] ^= 0xff;
        CHECK(chain_hash(previous, base) == reference);
    }
}

TEST_CASE("chain_hash does not let fields trade places", "[shared]") {
    Hash previous{};
    Entry a = sample_entry();
    Entry b = a;
    std::swap(b.time_ms, b.seed);
    CHECK(chain_hash(previous, a) != chain_hash(previous, b));
}

// --- hex -----------------------------------------------------------------------------------

TEST_CASE("a hash round-trips through lower-case hex", "[shared]") {
    Hash h{};
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 17 + 3);
    std::string hex = to_hex(h);
    CHECK(hex.size() == 32);
    CHECK(hex == "031425364758697a8b9cadbecfe0f102");  // big-endian byte order
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(hash_from_hex(hex) == h);
    CHECK(to_hex(Hash{}) == std::string(32, '0'));
}

TEST_CASE("malformed hex is rejected with bad_request", "[shared]") {
    auto hex = GENERATE(as<std::string>{}, "", "00",
                        "0000000000000000000000000000000",   // 31 digits
                        "000000000000000000000000000000000",  // 33 digits
                        "0000000000000000000000000000000g", "000000000000000000000000000000AB",
                        "000000000000000000000000000000 1", "000000000000000000000000000000-1");
    INFO("'" << hex << "'");
    REQUIRE_THROWS_KIND(hash_from_hex(hex), ErrorKind::bad_request);
}

// --- statement bodies ----------------------------------------------------------------------

TEST_CASE("statements round-trip through an entry body keeping parameter types", "[shared]") {
    std::vector<SqlStatement> in{
        {"INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
         json::array{1, 2.0, 0.1, "text", nullptr, json::object{{"blob", "AAE="}}, true}},
        {"UPDATE t SET a = :a", json::object{{"a", -9223372036854775807LL - 1}}},
        {"DELETE FROM t", nullptr},
    };
    auto out = decode_statements(encode_statements(in));
    REQUIRE(out.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        CHECK(out[i].sql == in[i].sql);
        CHECK(out[i].params == in[i].params);
    }
    auto& params = out[0].params.as_array();
    CHECK(params[0].is_int64());
    CHECK(params[1].is_double());  // 2.0 stays a real, not the integer 2
    CHECK(params[2].is_double());
    CHECK(out[2].params.is_null());
}

TEST_CASE("an entry body restores every real parameter bit for bit", "[shared]") {
    // A replica binds what it decodes; a real that comes back one ulp off is silent divergence.
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<double> dist(0.0, 1000.0);
    int mismatches = 0;
    std::string first;
    for (int i = 0; i < 2000; ++i) {
        double d = dist(rng);
        auto out = decode_statements(encode_statements({{"SELECT ?", json::array{d}}}));
        double back = out[0].params.as_array()[0].as_double();
        if (std::memcmp(&back, &d, sizeof d) != 0) {
            if (mismatches++ == 0) {
                char text[64];
                std::snprintf(text, sizeof text, "%.17g -> %.17g", d, back);
                first = text;
            }
        }
    }
    INFO("first mismatch: " << first);
    CHECK(mismatches == 0);
}

TEST_CASE("named parameters called real or blob survive an entry body", "[shared]") {
    // Found by test/fuzz/client_request_fuzz: the object of named params was itself taken
    // for a {"real": ...} wrapper, so ":real" = 1.5 made the body undecodable on every
    // replica and ":real" = "abc" came back as 0.0; a param named "blob" kept its reals
    // out of the hex-float form.
    std::vector<SqlStatement> in{
        {"INSERT INTO t VALUES (:real)", json::object{{"real", 1.5}}},
        {"INSERT INTO t VALUES (:real)", json::object{{"real", "abc"}}},
        {"INSERT INTO t VALUES (:real)", json::object{{"real", json::object{{"blob", "AAE="}}}}},
        {"INSERT INTO t VALUES (:blob, :x)", json::object{{"blob", 0.1}, {"x", 2.5}}},
    };
    auto out = decode_statements(encode_statements(in));
    REQUIRE(out.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        INFO(i);
        CHECK(out[i].params == in[i].params);
    }
    CHECK(out[0].params.as_object().at("real").is_double());
    CHECK(out[1].params.as_object().at("real").is_string());
    auto body = encode_statements({in[3]});
    CHECK(body.find(R"("blob":{"real":)") != std::string::npos);
}

TEST_CASE("a real in an entry body that is not exactly a number is rejected", "[shared]") {
    auto text = GENERATE(as<std::string>{}, "", "abc", "0x1p+0junk", " ", "0x1p+0\n");
    INFO("'" << text << "'");
    json::array params{json::object{{"real", text}}};
    std::string body =
        json::serialize(json::array{json::object{{"query", "SELECT ?"}, {"params", params}}});
    REQUIRE_THROWS_KIND(decode_statements(body), ErrorKind::bad_request);
}

TEST_CASE("a NaN parameter survives an entry body", "[shared]") {
    // Found by test/fuzz/client_request_fuzz: Boost.JSON 1.81 reads 0e400 as NaN, which the
    // master binds (SQLite stores NULL); the replica must decode it too, not stop.
    json::value client = json::parse(R"([0e400])");
    REQUIRE(std::isnan(client.as_array()[0].as_double()));
    auto out = decode_statements(encode_statements({{"SELECT ?", client}}));
    CHECK(std::isnan(out[0].params.as_array()[0].as_double()));
}

TEST_CASE("a malformed entry body is rejected with bad_request", "[shared]") {
    auto body = GENERATE(as<std::string>{}, "", "not json", "{}", "[1]", R"([{"params":[]}])",
                         R"([{"query":1}])", R"([{"query":"SELECT 1"}, "x"])", "[");
    INFO(body);
    REQUIRE_THROWS_KIND(decode_statements(body), ErrorKind::bad_request);
}
