// EtcdClient and MasterLease against a real etcd member (Debian's etcd-server, which
// scripts/test installs): leases, the create-if-absent race, lease expiry, compare-and-put,
// the error kinds, moving on to the next endpoint, and the master key's deadline.
//
// Each case starts its own single-member etcd on free loopback ports in a temp dir
// (EtcdServer, etcd_server.hpp); the member is killed and the dir removed when the case
// ends, passed or not.
// Every wait is bounded; ctest's per-case timeout is the last resort.

#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "etcd_server.hpp"
#include "shared/etcd_client.hpp"
#include "shared/master_lease.hpp"
#include "shared/net.hpp"

namespace {

using namespace sqlrep::test;
using sqlrep::EtcdClient;
using sqlrep::EtcdError;
using sqlrep::EtcdErrorKind;
using sqlrep::EtcdOptions;
using sqlrep::MasterLease;
using sqlrep::MasterLeaseOptions;

// Options for a client of `etcd` alone.
EtcdOptions options_for(const EtcdServer& etcd) {
    EtcdOptions options;
    options.endpoints = {etcd.url()};
    return options;
}

// A loopback port nothing listens on (a connection is refused at once).
std::string dead_endpoint() { return "http://127.0.0.1:" + std::to_string(free_ports(1)[0]); }

// Polls `done` every 100 ms until it is true or `timeout` passes; returns the last result.
template <typename F>
bool eventually(F done, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(100ms);
    }
    return true;
}

}  // namespace

TEST_CASE("etcd client grants, keeps alive and revokes a lease", "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client(options_for(etcd));

    int64_t lease = client.grant_lease(5s);
    CHECK(lease != 0);
    CHECK(client.keep_alive_once(lease) == 5s);

    // A key on the lease goes with it.
    REQUIRE(client.create_if_absent("/t/on-lease", "v", lease));
    REQUIRE(client.get("/t/on-lease"));
    client.revoke_lease(lease);
    CHECK(client.keep_alive_once(lease) == 0s);
    CHECK_FALSE(client.get("/t/on-lease"));
    // Revoking again, or a lease that never existed, is not an error.
    CHECK_NOTHROW(client.revoke_lease(lease));
    CHECK(client.keep_alive_once(12345) == 0s);
}

TEST_CASE("etcd client reads keys and values as bytes, with revisions and lease",
          "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client(options_for(etcd));
    CHECK_FALSE(client.get("/t/missing"));

    const std::string key("/t/\x01\xff key", 10);
    const std::string value("v\0\xfe\n{\"x\":1}", 11);
    int64_t lease = client.grant_lease(30s);
    REQUIRE(client.create_if_absent(key, value, lease));
    auto kv = client.get(key);
    REQUIRE(kv);
    CHECK(kv->value == value);
    CHECK(kv->lease == lease);
    CHECK(kv->create_revision > 0);
    CHECK(kv->mod_revision == kv->create_revision);
    // A second create leaves the key as it was.
    CHECK_FALSE(client.create_if_absent(key, "other"));
    CHECK(client.get(key)->value == value);
}

TEST_CASE("etcd create_if_absent lets exactly one of two racing clients create the key",
          "[integration][etcd]") {
    EtcdServer etcd;
    constexpr int kRounds = 30;
    std::vector<int> winners(kRounds, 0);  // bit 0: client a won, bit 1: client b
    std::atomic<int> failures{0};
    std::barrier start_round(2);

    auto race = [&](int bit) {
        try {
            EtcdClient client(options_for(etcd));
            int64_t lease = client.grant_lease(30s);
            for (int round = 0; round < kRounds; ++round) {
                start_round.arrive_and_wait();
                std::string key = "/t/race/" + std::to_string(round);
                if (client.create_if_absent(key, std::to_string(bit), lease))
                    winners[static_cast<std::size_t>(round)] |= 1 << bit;
                start_round.arrive_and_wait();  // no write to winners[round] after this
            }
        } catch (const std::exception&) {
            ++failures;
            start_round.arrive_and_drop();
        }
    };
    std::thread a(race, 0);
    std::thread b(race, 1);
    a.join();
    b.join();
    REQUIRE(failures == 0);

    EtcdClient reader(options_for(etcd));
    for (int round = 0; round < kRounds; ++round) {
        INFO("round " << round);
        int w = winners[static_cast<std::size_t>(round)];
        REQUIRE((w == 1 || w == 2));
        auto kv = reader.get("/t/race/" + std::to_string(round));
        REQUIRE(kv);
        CHECK(kv->value == std::to_string(w == 1 ? 0 : 1));
    }
}

TEST_CASE("etcd deletes a key when its lease expires", "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client(options_for(etcd));
    auto granted = Clock::now();
    int64_t lease = client.grant_lease(2s);
    REQUIRE(client.create_if_absent("/t/expiring", "v", lease));
    CHECK(client.get("/t/expiring"));

    CHECK(eventually([&] { return !client.get("/t/expiring"); }, 10s));
    // Not before the TTL (etcd counts it from after the grant was sent).
    CHECK(Clock::now() - granted >= 2s);
    CHECK(client.keep_alive_once(lease) == 0s);
    // Free again for anyone.
    CHECK(client.create_if_absent("/t/expiring", "w"));
}

TEST_CASE("etcd compare_and_put and delete_if_value write only over what was expected",
          "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client(options_for(etcd));

    // Revision 0 stands for "absent".
    REQUIRE(client.compare_and_put("/t/cas", 0, "one"));
    CHECK_FALSE(client.compare_and_put("/t/cas", 0, "not written"));
    auto first = client.get("/t/cas");
    REQUIRE(first);

    CHECK_FALSE(client.compare_and_put("/t/cas", first->mod_revision + 100, "not written"));
    CHECK(client.get("/t/cas")->value == "one");
    CHECK(client.compare_and_put("/t/cas", first->mod_revision, "two"));
    auto second = client.get("/t/cas");
    REQUIRE(second);
    CHECK(second->value == "two");
    CHECK(second->mod_revision > first->mod_revision);
    CHECK(second->create_revision == first->create_revision);
    // The old revision no longer matches.
    CHECK_FALSE(client.compare_and_put("/t/cas", first->mod_revision, "three"));

    CHECK_FALSE(client.delete_if_value("/t/cas", "one"));
    CHECK(client.get("/t/cas"));
    CHECK(client.delete_if_value("/t/cas", "two"));
    CHECK_FALSE(client.get("/t/cas"));
    CHECK_FALSE(client.delete_if_value("/t/cas", "two"));
    // etcd fails a value compare on a missing key, the empty value included.
    CHECK_FALSE(client.delete_if_value("/t/cas", ""));
}

TEST_CASE("etcd rejects a put on a lease that does not exist, with the rejected kind",
          "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client(options_for(etcd));
    try {
        client.create_if_absent("/t/no-lease", "v", 777);
        FAIL("no error");
    } catch (const EtcdError& e) {
        INFO(e.what());
        CHECK(e.etcd_kind() == EtcdErrorKind::rejected);
        CHECK(e.grpc_code() == 5);  // NOT_FOUND: requested lease not found
    }
    CHECK_FALSE(client.get("/t/no-lease"));
}

TEST_CASE("etcd client reports an unreachable endpoint fast, with the unreachable kind",
          "[integration][etcd]") {
    EtcdOptions options;
    options.endpoints = {dead_endpoint(), dead_endpoint()};
    EtcdClient client(options);
    auto started = Clock::now();
    try {
        client.get("/t/x");
        FAIL("no error");
    } catch (const EtcdError& e) {
        INFO(e.what());
        CHECK(e.etcd_kind() == EtcdErrorKind::unreachable);
        CHECK(e.kind() == sqlrep::ErrorKind::unavailable);
    }
    CHECK(Clock::now() - started < 1s);
}

TEST_CASE("etcd client gives the timeout kind when a member accepts but never answers",
          "[integration][etcd]") {
    // A listening socket nobody accepts from: connections complete in the backlog and
    // requests are never answered.
    boost::asio::io_context ioc;
    sqlrep::tcp::acceptor silent(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    EtcdOptions options;
    options.endpoints = {"http://127.0.0.1:" + std::to_string(silent.local_endpoint().port())};
    options.call_timeout = 600ms;
    options.attempt_timeout = 600ms;
    EtcdClient client(options);
    auto started = Clock::now();
    try {
        client.grant_lease(5s);
        FAIL("no error");
    } catch (const EtcdError& e) {
        INFO(e.what());
        CHECK(e.etcd_kind() == EtcdErrorKind::timeout);
    }
    auto took = Clock::now() - started;
    CHECK(took >= 500ms);
    CHECK(took < 3s);
}

TEST_CASE("etcd client moves on to the next endpoint when the first is down",
          "[integration][etcd]") {
    EtcdServer etcd;
    EtcdOptions options;
    options.endpoints = {dead_endpoint(), etcd.url()};
    EtcdClient client(options);
    CHECK(client.current_endpoint() == options.endpoints[0]);

    auto started = Clock::now();
    int64_t lease = client.grant_lease(10s);
    CHECK(client.create_if_absent("/t/failover", "v", lease));
    CHECK(client.get("/t/failover")->value == "v");
    CHECK(client.keep_alive_once(lease) == 10s);
    CHECK(Clock::now() - started < 3s);
    // It stays with the endpoint that answered.
    CHECK(client.current_endpoint() == etcd.url());

    // Both down: unreachable.
    etcd.node().kill();
    try {
        client.get("/t/failover");
        FAIL("no error");
    } catch (const EtcdError& e) {
        CHECK(e.etcd_kind() == EtcdErrorKind::unreachable);
    }
}

TEST_CASE("etcd master lease: one holder at a time, renewed, read back and released",
          "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client_a(options_for(etcd));
    EtcdClient client_b(options_for(etcd));
    MasterLeaseOptions options{"it", 5s, 1000ms};
    MasterLease a(client_a, options);
    MasterLease b(client_b, options);
    CHECK(a.key() == "/sqlrep/it/master");
    CHECK_FALSE(a.current());
    CHECK_FALSE(a.held());

    auto before = MasterLease::Clock::now();
    REQUIRE(a.try_acquire(1, 3, "http://127.0.0.1:4001"));
    CHECK(a.held());
    // Measured from before the grant was sent.
    CHECK(a.deadline() <= MasterLease::Clock::now() + 4s);
    CHECK(a.deadline() >= before + 4s);

    CHECK_FALSE(b.try_acquire(2, 3, "http://127.0.0.1:4002"));
    CHECK_FALSE(b.held());
    CHECK_FALSE(b.renew().held);

    auto holder = b.current();
    REQUIRE(holder);
    CHECK(holder->record == sqlrep::MasterRecord{1, 3, "http://127.0.0.1:4001"});
    CHECK(client_b.get(a.key())->value == R"({"id":1,"term":3,"url":"http://127.0.0.1:4001"})");

    auto old_deadline = a.deadline();
    std::this_thread::sleep_for(200ms);
    auto sent_after = MasterLease::Clock::now();
    auto renewed = a.renew();
    CHECK(renewed.held);
    CHECK_FALSE(renewed.error);
    CHECK(renewed.deadline > old_deadline);
    CHECK(renewed.deadline >= sent_after + 4s);
    CHECK(renewed.deadline <= MasterLease::Clock::now() + 4s);

    a.release();
    CHECK_FALSE(a.held());
    CHECK_FALSE(a.current());
    REQUIRE(b.try_acquire(2, 4, "http://127.0.0.1:4002"));
    CHECK(b.current()->record.term == 4);
    b.release();
}

TEST_CASE("etcd master lease: the holder's deadline passes before etcd expires the key",
          "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client_a(options_for(etcd));
    EtcdClient client_b(options_for(etcd));
    MasterLease a(client_a, {"it", 2s, 500ms});
    MasterLease b(client_b, {"it", 2s, 500ms});
    REQUIRE(a.try_acquire(1, 1, "http://a"));

    // a stops renewing. While a still counts itself master, b cannot take the key.
    while (a.held()) {
        CHECK_FALSE(b.try_acquire(2, 2, "http://b"));
        std::this_thread::sleep_for(100ms);
    }
    // The moment a stops, etcd still has its key.
    auto holder = b.current();
    REQUIRE(holder);
    CHECK(holder->record.id == 1);

    // Then etcd expires it, and b takes over.
    CHECK(eventually([&] { return b.try_acquire(2, 2, "http://b"); }, 10s));
    CHECK(b.held());
    // a learns it lost the key at its next renewal.
    auto renewed = a.renew();
    CHECK_FALSE(renewed.held);
    CHECK_FALSE(renewed.error);
    CHECK_FALSE(a.held());
}

TEST_CASE(
    "etcd master lease: a deleted key is lost at the next renewal even though the lease lives",
    "[integration][etcd]") {
    EtcdServer etcd;
    EtcdClient client(options_for(etcd));
    MasterLease a(client, {"it", 10s, 1000ms});
    REQUIRE(a.try_acquire(1, 1, "http://a"));
    REQUIRE(client.delete_if_value(a.key(), sqlrep::encode_master_record(a.record())));
    CHECK_FALSE(a.renew().held);
    CHECK_FALSE(a.held());
}

TEST_CASE("etcd master lease: an unreachable etcd keeps the old deadline and says why",
          "[integration][etcd]") {
    EtcdServer etcd;
    EtcdOptions options = options_for(etcd);
    options.call_timeout = 1000ms;
    EtcdClient client(options);
    MasterLease a(client, {"it", 10s, 1000ms});
    REQUIRE(a.try_acquire(1, 1, "http://a"));
    auto deadline = a.deadline();

    etcd.node().kill();
    auto renewed = a.renew();
    CHECK(renewed.held);
    CHECK(renewed.deadline == deadline);
    REQUIRE(renewed.error);
    CHECK(renewed.error->etcd_kind() == EtcdErrorKind::unreachable);
    CHECK(a.held());
}

TEST_CASE(
    "etcd master lease: a key lost while etcd was unreachable can be taken again once etcd "
    "is back",
    "[integration][etcd]") {
    EtcdServer etcd;
    EtcdOptions options = options_for(etcd);
    options.call_timeout = 500ms;
    EtcdClient client(options);
    MasterLease a(client, {"it", 2s, 500ms});
    REQUIRE(a.try_acquire(1, 1, "http://a"));

    // etcd goes away until the holder's deadline has passed: it lost the key.
    etcd.node().kill();
    CHECK(eventually([&] { return !a.renew().held; }, 10s));
    CHECK_FALSE(a.held());

    // Back: once the old lease has expired, the same holder takes the key again (it
    // used to refuse for good, "try_acquire while holding", with nothing held).
    etcd.restart();
    bool taken = false;
    auto deadline = Clock::now() + 20s;
    while (!taken && Clock::now() < deadline) {
        REQUIRE_NOTHROW(taken = a.try_acquire(1, 2, "http://a"));
        if (!taken) std::this_thread::sleep_for(100ms);
    }
    CHECK(taken);
    CHECK(a.held());
    CHECK(a.current()->record.term == 2);
    a.release();
}
