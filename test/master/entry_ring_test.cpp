// The master's in-memory ring of encoded entries: what it hands to stream sessions, when
// it sends them to the log instead, and how a failed commit is taken back.

#include <catch2/catch.hpp>

#include "master/entry_ring.hpp"
#include "shared/stream_messages.hpp"

using namespace sqlrep;
using sqlrep::master::EntryRing;

namespace {

std::vector<Entry> entries(int64_t from, int64_t to) {
    std::vector<Entry> out;
    Hash previous{};
    for (int64_t i = from; i <= to; ++i) {
        Entry e;
        e.index = i;
        e.term = 1;
        e.time_ms = 1000 + i;
        e.body = R"x([{"query":"INSERT INTO t VALUES (?)","params":[)x" + std::to_string(i) + "]}]";
        e.hash = chain_hash(previous, e);
        previous = e.hash;
        out.push_back(e);
    }
    return out;
}

}  // namespace

TEST_CASE("the ring's batch is the same entries frame the log path would send", "[master]") {
    EntryRing ring(100, 1 << 20);
    auto all = entries(1, 5);
    ring.publish(all);
    auto batch = ring.batch(2, 100, 1 << 20);
    REQUIRE(batch);
    CHECK(batch->last == 5);
    CHECK(batch->message == encode_stream_entries({all.begin() + 1, all.end()}));
    std::vector<Entry> sent = decode_stream_entries(batch->message);
    REQUIRE(sent.size() == 4);
    CHECK(sent[0].hash == all[1].hash);
}

TEST_CASE("the ring sends a replica behind it to the log and one at its tip to wait", "[master]") {
    EntryRing ring(3, 1 << 20);
    CHECK_FALSE(ring.batch(1, 10, 1 << 20));  // empty: the log decides
    ring.publish(entries(1, 5));              // keeps 3..5
    CHECK_FALSE(ring.batch(2, 10, 1 << 20));
    CHECK(ring.batch(3, 10, 1 << 20)->last == 5);
    CHECK(ring.batch(6, 10, 1 << 20)->last == 0);
    CHECK(ring.last_index() == 5);
    CHECK(ring.batch(3, 2, 1 << 20)->last == 4);  // entry cap
    CHECK(ring.batch(3, 10, 1)->last == 3);       // byte cap: still one entry
}

TEST_CASE("a retracted group leaves the ring and a gap restarts it", "[master]") {
    EntryRing ring(100, 1 << 20);
    auto all = entries(1, 6);
    ring.publish({all.begin(), all.begin() + 4});
    CHECK(ring.hash_at(4) == all[3].hash);
    CHECK(ring.retract(2));
    CHECK_FALSE(ring.retract(2));
    CHECK(ring.last_index() == 2);
    CHECK_FALSE(ring.hash_at(3));
    CHECK(ring.batch(3, 10, 1 << 20)->last == 0);
    ring.publish({all.begin() + 5, all.end()});  // index 6 does not continue 2
    CHECK(ring.last_index() == 6);
    CHECK_FALSE(ring.batch(3, 10, 1 << 20));
    CHECK(ring.batch(6, 10, 1 << 20)->last == 6);
}
