// GET /changes's parameters (change_feed_request.hpp): the resume rule and every refusal.

#include <catch2/catch.hpp>

#include "shared/change_feed_request.hpp"
#include "test_support.hpp"

using namespace sqlrep;

namespace {
ErrorKind refusal(std::string_view target, std::optional<std::string_view> last = std::nullopt) {
    try {
        parse_change_feed_request(target, last);
    } catch (const Error& e) {
        return e.kind();
    }
    return ErrorKind::internal;
}
}  // namespace

TEST_CASE("GET /changes reads from, tables and snapshot", "[shared][changes]") {
    auto all = parse_change_feed_request("/changes", std::nullopt);
    CHECK(all.from == 1);
    CHECK(all.tables.empty());
    CHECK(!all.snapshot);
    CHECK(all.wants("anything"));

    auto some =
        parse_change_feed_request("/changes?from=42&tables=a,B%20c&snapshot=true", std::nullopt);
    CHECK(some.from == 42);
    CHECK(some.tables == std::vector<std::string>{"a", "B c"});
    CHECK(some.snapshot);
    CHECK(some.wants("A"));
    CHECK(some.wants("b C"));
    CHECK(!some.wants("c"));
}

TEST_CASE("Last-Event-ID resumes after the entry it names, whatever the URL says",
          "[shared][changes]") {
    auto resumed = parse_change_feed_request("/changes?from=1&snapshot=true", "41");
    CHECK(resumed.from == 42);
    CHECK(!resumed.snapshot);
    CHECK(parse_change_feed_request("/changes", "0").from == 1);
}

TEST_CASE("GET /changes refuses bad parameters", "[shared][changes]") {
    CHECK(refusal("/changes?from=0") == ErrorKind::bad_request);
    CHECK(refusal("/changes?from=-3") == ErrorKind::bad_request);
    CHECK(refusal("/changes?from=abc") == ErrorKind::bad_request);
    CHECK(refusal("/changes?from=1x") == ErrorKind::bad_request);
    CHECK(refusal("/changes?from=99999999999999999999") == ErrorKind::bad_request);
    CHECK(refusal("/changes?from=1&from=2") == ErrorKind::bad_request);
    CHECK(refusal("/changes?tables=") == ErrorKind::bad_request);
    CHECK(refusal("/changes?tables=a,,b") == ErrorKind::bad_request);
    CHECK(refusal("/changes?snapshot=maybe") == ErrorKind::bad_request);
    CHECK(refusal("/changes?limit=3") == ErrorKind::bad_request);
    CHECK(refusal("/changes", "x") == ErrorKind::bad_request);
}
