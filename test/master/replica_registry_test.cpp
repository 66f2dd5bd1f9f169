// ReplicaRegistry: quorum and all indexes from acks, and what a retraction (a COMMIT that
// failed after its group was streamed) does to them.

#include <chrono>
#include <optional>

#include <catch2/catch.hpp>

#include "master/replica_registry.hpp"

using namespace sqlrep;
using namespace sqlrep::master;
using namespace std::chrono_literals;

namespace {

// Whether a write at `index` with `mode` is acknowledged now. A wait that is not satisfied
// at once has nothing that could satisfy it later (no stream runs here): its short timeout
// only ends it, and the answer does not depend on how long it is.
bool acked_now(net::io_context& ioc, ReplicaRegistry& registry, AckMode mode, int64_t index) {
    std::optional<bool> answer;
    registry.wait_for_ack(mode, index, 20ms, [&](bool reached) { answer = reached; });
    ioc.restart();
    ioc.run();
    REQUIRE(answer.has_value());
    return *answer;
}

int64_t acked_index(const ReplicaRegistry& registry, int id) {
    return registry.status(0).at(static_cast<std::size_t>(id - 1)).at("acked_index").as_int64();
}

}  // namespace

TEST_CASE("a quorum of two replicas is one ack, all is both", "[master]") {
    net::io_context ioc;
    ReplicaRegistry registry(ioc, 2, 0);
    const uint64_t epoch = registry.epoch();
    registry.record_ack(1, 5, epoch);
    CHECK(acked_now(ioc, registry, AckMode::quorum, 5));
    CHECK_FALSE(acked_now(ioc, registry, AckMode::quorum, 6));
    CHECK_FALSE(acked_now(ioc, registry, AckMode::all, 5));
    registry.record_ack(2, 5, epoch);
    CHECK(acked_now(ioc, registry, AckMode::all, 5));
    CHECK(acked_now(ioc, registry, AckMode::master, 100));
}

TEST_CASE("a retraction takes back acks of the indexes the master gave up", "[master]") {
    net::io_context ioc;
    ReplicaRegistry registry(ioc, 2, 0);
    const uint64_t before = registry.epoch();
    // Both replicas applied entries 11 and 12 while the master's fsync of them ran.
    registry.record_ack(1, 12, before);
    registry.record_ack(2, 12, before);
    CHECK(acked_now(ioc, registry, AckMode::all, 12));

    // The fsync failed: the master keeps up to 10, and its next entries re-use 11 and 12.
    registry.retract(10);
    CHECK(registry.epoch() > before);
    CHECK(acked_index(registry, 1) == 10);
    CHECK(acked_index(registry, 2) == 10);
    CHECK(acked_now(ioc, registry, AckMode::quorum, 10));
    CHECK_FALSE(acked_now(ioc, registry, AckMode::quorum, 11));
    CHECK_FALSE(acked_now(ioc, registry, AckMode::all, 11));
    CHECK(registry.trim_floor(12, 0) == 10);
}

TEST_CASE("acks from a stream that began before a retraction are ignored", "[master]") {
    net::io_context ioc;
    ReplicaRegistry registry(ioc, 2, 0);
    const uint64_t old_stream = registry.epoch();
    registry.record_ack(1, 12, old_stream);
    registry.retract(10);

    // In flight when the master gave up 11 and 12: that replica holds the old ones.
    registry.record_ack(1, 12, old_stream);
    registry.record_ack(2, 11, old_stream);
    CHECK(acked_index(registry, 1) == 10);
    CHECK(acked_index(registry, 2) == 0);
    CHECK_FALSE(acked_now(ioc, registry, AckMode::quorum, 11));

    // A stream that began after it was checked against what the master kept.
    const uint64_t new_stream = registry.epoch();
    registry.record_ack(2, 11, new_stream);
    CHECK(acked_now(ioc, registry, AckMode::quorum, 11));
    CHECK_FALSE(acked_now(ioc, registry, AckMode::all, 11));
    registry.record_ack(1, 12, new_stream);
    CHECK(acked_now(ioc, registry, AckMode::quorum, 12));
    CHECK(acked_now(ioc, registry, AckMode::all, 11));
}

TEST_CASE("a retraction never raises an acked index", "[master]") {
    net::io_context ioc;
    ReplicaRegistry registry(ioc, 3, 0);
    const uint64_t epoch = registry.epoch();
    registry.record_ack(1, 4, epoch);
    registry.record_ack(2, 9, epoch);
    registry.retract(7);
    CHECK(acked_index(registry, 1) == 4);
    CHECK(acked_index(registry, 2) == 7);
    CHECK(acked_index(registry, 3) == 0);
    // Quorum of 1+3 nodes: two replicas.
    CHECK(acked_now(ioc, registry, AckMode::quorum, 4));
    CHECK_FALSE(acked_now(ioc, registry, AckMode::quorum, 5));
}
