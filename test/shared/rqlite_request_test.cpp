// rqlite's request side: query-string options and bodies (parse_rqlite_options,
// parse_rqlite_statements), and every way to get them wrong.

#include <string>

#include <catch2/catch.hpp>

#include "shared/rqlite_request.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

TEST_CASE("rqlite options: flags with and without values, levels, freshness, q",
          "[shared][rqlite]") {
    RqliteOptions none = parse_rqlite_options("/db/query");
    CHECK_FALSE(none.transaction);
    CHECK(none.level == RqliteLevel::weak);  // rqlite's default

    RqliteOptions o = parse_rqlite_options(
        "/db/query?transaction&timings=true&associative=1&pretty&blob_array&level=none"
        "&freshness=1.5s&q=SELECT%20*%20FROM+t&queue=false&wait=0&noleader");
    CHECK(o.transaction);
    CHECK(o.timings);
    CHECK(o.associative);
    CHECK(o.pretty);
    CHECK(o.blob_array);
    CHECK_FALSE(o.queue);
    CHECK_FALSE(o.wait);
    CHECK(o.noleader);
    CHECK(o.level == RqliteLevel::none);
    REQUIRE(o.freshness_ms);
    CHECK(*o.freshness_ms == 1500);
    REQUIRE(o.q.size() == 1);
    CHECK(o.q[0] == "SELECT * FROM t");

    CHECK(parse_rqlite_options("/x?level=auto").level == RqliteLevel::automatic);
    CHECK(parse_rqlite_options("/x?level=linearizable").level == RqliteLevel::linearizable);
    CHECK(parse_rqlite_options("/x?level=strong").level == RqliteLevel::strong);
    CHECK(*parse_rqlite_options("/x?freshness=1m30s").freshness_ms == 90000);
    CHECK(*parse_rqlite_options("/x?freshness=250ms").freshness_ms == 250);
    CHECK(parse_rqlite_options("/nodes?ver=2").nodes_v2);
    CHECK(parse_rqlite_options("/x?timeout=10s&redirect").level == RqliteLevel::weak);

    REQUIRE_THROWS_KIND(parse_rqlite_options("/x?level=sometimes"), ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(parse_rqlite_options("/x?freshness=soon"), ErrorKind::bad_request);
    REQUIRE_THROWS_KIND(parse_rqlite_options("/x?freshness=5"), ErrorKind::bad_request);
}

TEST_CASE("rqlite bodies: strings, positional and named parameters", "[shared][rqlite]") {
    auto statements = parse_rqlite_statements(
        R"j(["SELECT 1", ["INSERT INTO t VALUES (?, ?)", 1, "a"],
             ["INSERT INTO t VALUES (:x)", {"x": 2.5}], ["SELECT 2"]])j",
        RequestLimits{});
    REQUIRE(statements.size() == 4);
    CHECK(statements[0].sql == "SELECT 1");
    CHECK(statements[0].params.is_null());
    CHECK(statements[1].params == json::parse(R"j([1, "a"])j"));
    CHECK(statements[2].params == json::parse(R"j({"x": 2.5})j"));
    CHECK(statements[3].params.is_null());
    // An object among several parameters is a positional value (a blob in sqlrep's form).
    auto blob = parse_rqlite_statements(
        R"j([["INSERT INTO t VALUES (?, ?)", 1, {"blob": "AA=="}]])j", RequestLimits{});
    CHECK(blob[0].params.as_array().size() == 2);
}

TEST_CASE("rqlite bodies that are not an array of statements are refused", "[shared][rqlite]") {
    RequestLimits limits;
    limits.max_batch = 3;
    limits.max_sql_bytes = 10;
    for (std::string body : {"", "not json", "{}", "[]", "\"SELECT 1\"", "[42]", "[[]]", "[[42]]",
                             "[\"\"]", "[\"SELECT 1\", \"SELECT 2\", \"SELECT 3\", \"SELECT 4\"]",
                             "[\"SELECT 12345678\"]", "[[\"SELECT ?\", 1e400]]"}) {
        INFO(body);
        REQUIRE_THROWS_KIND(parse_rqlite_statements(body, limits), ErrorKind::bad_request);
    }
}

TEST_CASE("url_decode decodes escapes and plus, and keeps broken escapes", "[shared][rqlite]") {
    CHECK(url_decode("a%20b+c%27") == "a b c'");
    CHECK(url_decode("100%") == "100%");
    CHECK(url_decode("%zz") == "%zz");
}
