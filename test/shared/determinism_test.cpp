// Deterministic replay: with the same EntryClock, two separate writer connections compute
// the same random values and the same 'now'.

#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "shared/determinism.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

const std::string kProbe =
    "SELECT random(), random(), randomblob(16), datetime('now'), julianday('now'), "
    "CURRENT_TIMESTAMP, strftime('%Y-%m-%d %H:%M:%f', 'now'), CURRENT_DATE, CURRENT_TIME";

constexpr int64_t kTimeMs = 1700000000123;  // 2023-11-14 22:13:20.123 UTC

json::array probe(Connection& conn, int64_t time_ms, int64_t seed) {
    EntryClock clock(time_ms, seed);
    return rows_of(run(conn, kProbe))[0].as_array();
}

struct TwoNodes {
    TempDir dir;
    std::unique_ptr<Connection> a = open_writer(dir.file("a.sqlite"));
    std::unique_ptr<Connection> b = open_writer(dir.file("b.sqlite"));
};

}  // namespace

TEST_CASE("the same entry clock gives identical random and time values on two connections",
          "[shared]") {
    TwoNodes nodes;
    auto seed = GENERATE(as<int64_t>{}, 0, 1, -1, 0x123456789abcdefLL, INT64_MIN);
    INFO("seed " << seed);
    auto on_a = probe(*nodes.a, kTimeMs, seed);
    auto on_b = probe(*nodes.b, kTimeMs, seed);
    CHECK(on_a == on_b);
    CHECK(on_a[0] != on_a[1]);  // successive draws differ
    REQUIRE(on_a[2].is_object());
    CHECK(base64_decode(std::string(on_a[2].as_object().at("blob").as_string())).size() == 16);
}

TEST_CASE("the same entry clock gives identical values for rows written by a statement",
          "[shared]") {
    TwoNodes nodes;
    const std::string write =
        "CREATE TABLE r(v, b, t); "
        "INSERT INTO r SELECT random(), randomblob(8), datetime('now') "
        "FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)";
    for (auto* conn : {nodes.a.get(), nodes.b.get()}) {
        EntryClock clock(kTimeMs, 77);
        run(*conn, write);
    }
    auto read = [](Connection& c) { return rows_of(query(c, "SELECT * FROM r ORDER BY rowid")); };
    CHECK(read(*nodes.a) == read(*nodes.b));
}

TEST_CASE("different seeds give different random()", "[shared]") {
    TwoNodes nodes;
    auto one = probe(*nodes.a, kTimeMs, 1);
    auto two = probe(*nodes.b, kTimeMs, 2);
    CHECK(one[0] != two[0]);
    CHECK(one[2] != two[2]);
    CHECK(one[3] == two[3]);  // same time
}

TEST_CASE("datetime('now') is the frozen time formatted", "[shared]") {
    TwoNodes nodes;
    auto row = probe(*nodes.a, kTimeMs, 5);
    CHECK(row[3].as_string() == "2023-11-14 22:13:20");
    CHECK(row[4].as_double() == Approx(2440587.5 + kTimeMs / 86400000.0).epsilon(1e-15));
    CHECK(row[5].as_string() == "2023-11-14 22:13:20");
    CHECK(row[6].as_string() == "2023-11-14 22:13:20.123");
    CHECK(row[7].as_string() == "2023-11-14");
    CHECK(row[8].as_string() == "22:13:20");
}

TEST_CASE("the Unix epoch is the frozen time 0", "[shared]") {
    TwoNodes nodes;
    CHECK(probe(*nodes.a, 0, 0)[3].as_string() == "1970-01-01 00:00:00");
}

TEST_CASE("a different frozen time gives a different now", "[shared]") {
    TwoNodes nodes;
    auto early = probe(*nodes.a, kTimeMs, 5);
    auto later = probe(*nodes.b, kTimeMs + 86400000, 5);
    CHECK(later[3].as_string() == "2023-11-15 22:13:20");
    CHECK(early[0] == later[0]);  // the seed alone decides random()
}

TEST_CASE("the clock is released when the entry clock goes away", "[shared]") {
    TwoNodes nodes;
    (void)probe(*nodes.a, 0, 0);
    auto now = scalar(*nodes.a, "SELECT CAST(strftime('%Y', 'now') AS INTEGER)").as_int64();
    CHECK(now >= 2024);
    CHECK(unix_time_ms() > kTimeMs);
}
