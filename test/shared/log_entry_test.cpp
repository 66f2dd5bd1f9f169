// Log entries: the chained hash, its hex form and the clock that stamps them. Their
// bodies (effects) are tested in effects_test.cpp.

#include <algorithm>
#include <chrono>
#include <string>

#include <xxhash.h>
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
    e.body = std::string("S\x07\0\0\0DROP t\0", 12);  // any bytes: the hash takes them as they are
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
    SECTION("body") {
        base.body.back() = ' ';
        CHECK(chain_hash(previous, base) != reference);
    }
    SECTION("body length") {
        base.body.push_back('\0');
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
    std::swap(b.index, b.term);
    Entry c = a;
    std::swap(c.term, c.time_ms);
    CHECK(chain_hash(previous, a) != chain_hash(previous, c));
    CHECK(chain_hash(previous, a) != chain_hash(previous, b));
}

TEST_CASE("chain_hash of an entry without request_id is the documented layout, unseeded",
          "[shared]") {
    // Logs written before request ids existed must still chain.
    Hash previous{};
    previous[1] = 0x5a;
    Entry e = sample_entry();
    std::string input(previous.begin(), previous.end());
    for (int64_t v : {e.index, e.term, e.time_ms})
        for (int i = 0; i < 8; ++i)
            input.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
    input += e.body;
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits(input.data(), input.size()));
    Hash expected;
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), expected.begin());
    CHECK(chain_hash(previous, e) == expected);
}

TEST_CASE("chain_hash covers the request_id, with a seed and layout of its own", "[shared]") {
    Hash previous{};
    Entry plain = sample_entry();
    Entry with_id = plain;
    with_id.request_id = "req-1";
    Hash reference = chain_hash(previous, with_id);
    CHECK(reference != chain_hash(previous, plain));
    Entry other = with_id;
    other.request_id = "req-2";
    CHECK(chain_hash(previous, other) != reference);
    // The id's bytes moved into the body do not give the same hash.
    Entry moved = plain;
    moved.body = std::string("\x05\0", 2) + "req-1" + plain.body;
    CHECK(chain_hash(previous, moved) != reference);
}

TEST_CASE("valid_request_id takes 1 to 128 printable ASCII characters", "[shared]") {
    CHECK(valid_request_id("a"));
    CHECK(valid_request_id(" ~!"));
    CHECK(valid_request_id(std::string(128, 'z')));
    CHECK_FALSE(valid_request_id(""));
    CHECK_FALSE(valid_request_id(std::string(129, 'z')));
    CHECK_FALSE(valid_request_id("a\nb"));
    CHECK_FALSE(valid_request_id("\x7f"));
    CHECK_FALSE(valid_request_id("\xc3\xa9"));
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
                        "0000000000000000000000000000000",    // 31 digits
                        "000000000000000000000000000000000",  // 33 digits
                        "0000000000000000000000000000000g", "000000000000000000000000000000AB",
                        "000000000000000000000000000000 1", "000000000000000000000000000000-1");
    INFO("'" << hex << "'");
    REQUIRE_THROWS_KIND(hash_from_hex(hex), ErrorKind::bad_request);
}

// --- clock -------------------------------------------------------------------------------

TEST_CASE("unix_time_ms is the wall clock in Unix milliseconds", "[shared]") {
    using namespace std::chrono;
    int64_t before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    int64_t now = unix_time_ms();
    int64_t after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    CHECK(before <= now);
    CHECK(now <= after);
}
