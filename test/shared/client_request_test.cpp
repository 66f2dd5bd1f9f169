// parse_client_request: the documented forms of POST / and every way to get them wrong.

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/client_request.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

void require_bad_request(const std::string& body) {
    INFO("body: " << body);
    REQUIRE_THROWS_KIND(parse_client_request(body), ErrorKind::bad_request);
}

// {"command":"query","query":"SELECT 1","params":[[...[1]...]]}: the whole body is `depth`
// levels deep (the outer object is level 1).
std::string nested_body(int depth) {
    int arrays = depth - 1;
    return R"({"command":"query","query":"SELECT ?","params":)" + std::string(arrays, '[') + "1" +
           std::string(arrays, ']') + "}";
}

}  // namespace

// --- accepted forms ------------------------------------------------------------------------

TEST_CASE("a query with a single statement parses with defaults", "[shared]") {
    auto req = parse_client_request(R"({"command":"query","query":"SELECT 1"})");
    CHECK(req.command == ClientRequest::Command::query);
    REQUIRE(req.statements.size() == 1);
    CHECK(req.statements[0].sql == "SELECT 1");
    CHECK(req.statements[0].params.is_null());
    CHECK_FALSE(req.ack.has_value());
    CHECK(req.min_index == 0);
    CHECK(req.level == ReadLevel::local);
    CHECK_FALSE(req.claims_replication);
}

TEST_CASE("an exec with positional or named params parses", "[shared]") {
    auto positional = parse_client_request(
        R"J({"command":"exec","query":"INSERT INTO t VALUES (?)","params":[1.5]})J");
    CHECK(positional.command == ClientRequest::Command::exec);
    CHECK(positional.statements[0].params == json::value(json::array{1.5}));
    auto named = parse_client_request(
        R"J({"command":"exec","query":"INSERT INTO t VALUES (:a)","params":{"a":"x"},"ack":"all"})J");
    CHECK(named.statements[0].params == json::value(json::object{{"a", "x"}}));
    CHECK(named.ack == std::optional<AckMode>(AckMode::all));
    auto explicit_null =
        parse_client_request(R"({"command":"exec","query":"DELETE FROM t","params":null})");
    CHECK(explicit_null.statements[0].params.is_null());
}

TEST_CASE("a batch parses into one statement per item", "[shared]") {
    auto req = parse_client_request(
        R"J({"command":"exec","batch":[{"query":"INSERT INTO t VALUES (1)"},)J"
        R"J({"query":"INSERT INTO t VALUES (?)","params":[2]}],"ack":"quorum"})J");
    REQUIRE(req.statements.size() == 2);
    CHECK(req.statements[0].params.is_null());
    CHECK(req.statements[1].params == json::value(json::array{2}));
    CHECK(req.ack == std::optional<AckMode>(AckMode::quorum));
}

TEST_CASE("a query takes min_index and level", "[shared]") {
    auto req = parse_client_request(
        R"({"command":"query","query":"SELECT 1","min_index":17,"level":"strong"})");
    CHECK(req.min_index == 17);
    CHECK(req.level == ReadLevel::strong);
    CHECK(parse_client_request(R"({"command":"query","query":"SELECT 1","level":"local"})").level ==
          ReadLevel::local);
}

TEST_CASE("every ack mode parses and names itself", "[shared]") {
    for (AckMode mode : {AckMode::master, AckMode::quorum, AckMode::all}) {
        std::string name = ack_mode_name(mode);
        CHECK(parse_ack_mode(name) == std::optional<AckMode>(mode));
        auto req = parse_client_request(R"({"command":"exec","query":"DELETE FROM t","ack":")" +
                                        name + R"("})");
        CHECK(req.ack == std::optional<AckMode>(mode));
    }
    CHECK(parse_ack_mode("Quorum") == std::nullopt);
    CHECK(parse_ack_mode("") == std::nullopt);
}

TEST_CASE("is_master as a boolean is accepted and ignored", "[shared]") {
    auto req = parse_client_request(R"({"command":"query","query":"SELECT 1","is_master":true})");
    CHECK(req.statements.size() == 1);
    CHECK_FALSE(req.claims_replication);
}

TEST_CASE("a body carrying replicated or forwarded claims replication", "[shared]") {
    auto flag = GENERATE(as<std::string>{}, R"("replicated":true)", R"("forwarded":true)",
                         R"("replicated":false)", R"("forwarded":"node-2")");
    INFO(flag);
    auto req = parse_client_request(R"({"command":"exec","query":"DELETE FROM t",)" + flag + "}");
    CHECK(req.claims_replication);
}

TEST_CASE("a body nested exactly to the depth limit is accepted", "[shared]") {
    CHECK_NOTHROW(parse_client_request(nested_body(32)));
}

// --- rejections ----------------------------------------------------------------------------

TEST_CASE("a body that is not JSON is a bad request", "[shared]") {
    auto body = GENERATE(as<std::string>{}, "", "command=exec", R"({"command":"exec")",
                         R"({"command":"exec",})", "{'command':'exec'}");
    require_bad_request(body);
}

TEST_CASE("a body that is not an object is a bad request", "[shared]") {
    auto body =
        GENERATE(as<std::string>{}, "[]", R"(["query","SELECT 1"])", "\"SELECT 1\"", "1", "null");
    require_bad_request(body);
}

TEST_CASE("a missing command is a bad request", "[shared]") {
    require_bad_request(R"({"query":"SELECT 1"})");
}

TEST_CASE("an unknown or mistyped command is a bad request", "[shared]") {
    auto body =
        GENERATE(as<std::string>{}, R"({"command":"drop","query":"SELECT 1"})",
                 R"({"command":"EXEC","query":"SELECT 1"})", R"({"command":1,"query":"SELECT 1"})",
                 R"({"command":null,"query":"SELECT 1"})");
    require_bad_request(body);
}

TEST_CASE("a missing query is a bad request", "[shared]") {
    require_bad_request(R"({"command":"query"})");
}

TEST_CASE("a query that is not a string is a bad request", "[shared]") {
    auto body = GENERATE(as<std::string>{}, R"({"command":"query","query":1})",
                         R"({"command":"query","query":["SELECT 1"]})",
                         R"({"command":"query","query":null})",
                         R"({"command":"query","query":{"sql":"SELECT 1"}})");
    require_bad_request(body);
}

TEST_CASE("an empty query is a bad request", "[shared]") {
    require_bad_request(R"({"command":"query","query":""})");
}

TEST_CASE("a query over the SQL size limit is a bad request", "[shared]") {
    RequestLimits limits;
    limits.max_sql_bytes = 10;
    REQUIRE_THROWS_KIND(
        parse_client_request(R"({"command":"query","query":"SELECT 1 + 1 + 1"})", limits),
        ErrorKind::bad_request);
}

TEST_CASE("params of the wrong type are a bad request", "[shared]") {
    auto body = GENERATE(as<std::string>{}, R"({"command":"query","query":"SELECT ?","params":1})",
                         R"({"command":"query","query":"SELECT ?","params":"1"})",
                         R"({"command":"query","query":"SELECT ?","params":true})");
    require_bad_request(body);
}

TEST_CASE("both query and batch is a bad request", "[shared]") {
    require_bad_request(R"({"command":"exec","query":"SELECT 1","batch":[{"query":"SELECT 2"}]})");
}

TEST_CASE("an empty or non-array batch is a bad request", "[shared]") {
    auto body = GENERATE(as<std::string>{}, R"({"command":"exec","batch":[]})",
                         R"({"command":"exec","batch":{"query":"SELECT 1"}})",
                         R"({"command":"exec","batch":"SELECT 1"})");
    require_bad_request(body);
}

TEST_CASE("a malformed batch item is a bad request", "[shared]") {
    auto body = GENERATE(as<std::string>{}, R"({"command":"exec","batch":["SELECT 1"]})",
                         R"({"command":"exec","batch":[{"query":"SELECT 1"},{}]})",
                         R"({"command":"exec","batch":[{"query":""}]})",
                         R"({"command":"exec","batch":[{"query":"SELECT ?","params":5}]})");
    require_bad_request(body);
}

TEST_CASE("a batch over the statement limit is a bad request", "[shared]") {
    RequestLimits limits;
    limits.max_batch = 2;
    REQUIRE_THROWS_KIND(parse_client_request(R"({"command":"exec","batch":[{"query":"SELECT 1"},)"
                                             R"({"query":"SELECT 2"},{"query":"SELECT 3"}]})",
                                             limits),
                        ErrorKind::bad_request);
}

TEST_CASE("an unknown or mistyped ack is a bad request", "[shared]") {
    auto ack =
        GENERATE(as<std::string>{}, R"("majority")", R"("")", "1", "null", "true", R"("QUORUM")");
    require_bad_request(R"({"command":"exec","query":"DELETE FROM t","ack":)" + ack + "}");
}

TEST_CASE("an ack on a query is a bad request", "[shared]") {
    require_bad_request(R"({"command":"query","query":"SELECT 1","ack":"master"})");
}

TEST_CASE("a negative or non-integer min_index is a bad request", "[shared]") {
    auto value =
        GENERATE(as<std::string>{}, "-1", "1.5", R"("3")", "null", "true", "18446744073709551615");
    require_bad_request(R"({"command":"query","query":"SELECT 1","min_index":)" + value + "}");
}

TEST_CASE("an unknown or mistyped level is a bad request", "[shared]") {
    auto value = GENERATE(as<std::string>{}, R"("weak")", R"("Strong")", "1", "null");
    require_bad_request(R"({"command":"query","query":"SELECT 1","level":)" + value + "}");
}

TEST_CASE("a body nested deeper than the limit is a bad request", "[shared]") {
    require_bad_request(nested_body(33));
    require_bad_request(nested_body(200));
}

TEST_CASE("a non-boolean is_master is a bad request", "[shared]") {
    auto value = GENERATE(as<std::string>{}, R"("true")", "1", "null", "{}");
    require_bad_request(R"({"command":"query","query":"SELECT 1","is_master":)" + value + "}");
}

TEST_CASE("invalid UTF-8 anywhere in the body is a bad request", "[shared]") {
    // A lone continuation byte, a truncated sequence, an overlong '/', and a UTF-16
    // surrogate encoded directly: in the SQL, in a string parameter, in a key.
    for (std::string bad : {"\x80", "\xC3", "\xC0\xAF", "\xED\xA0\x80"}) {
        require_bad_request(R"({"command":"query","query":"SELECT ')" + bad + R"('"})");
        require_bad_request(R"({"command":"exec","query":"SELECT ?","params":[")" + bad + R"("]})");
        require_bad_request(R"({"command":"query","query":"SELECT 1",")" + bad + R"(":1})");
    }
}

TEST_CASE("valid UTF-8 and escaped non-ASCII are accepted", "[shared]") {
    auto req = parse_client_request(
        "{\"command\":\"exec\",\"query\":\"SELECT 'h\xC3\xA9' \",\"params\":null}");
    CHECK(req.statements[0].sql == "SELECT 'h\xC3\xA9' ");
    auto escaped = parse_client_request(
        R"({"command":"query","query":"SELECT ?","params":["\u00e9\ud83d\ude00"]})");
    CHECK(escaped.statements[0].params.as_array()[0].as_string() == "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("the JSON depth limit follows RequestLimits", "[shared]") {
    RequestLimits limits;
    limits.max_json_depth = 4;
    CHECK_NOTHROW(parse_client_request(nested_body(4), limits));
    REQUIRE_THROWS_KIND(parse_client_request(nested_body(5), limits), ErrorKind::bad_request);
}

TEST_CASE("a parameter beyond double's range is a bad request", "[shared]") {
    require_bad_request(R"({"command":"exec","query":"SELECT ?","params":[1e400]})");
    require_bad_request(R"({"command":"exec","query":"SELECT :a","params":{":a":-1e400}})");
    require_bad_request(R"({"command":"exec","batch":[{"query":"SELECT ?","params":[1e309]}]})");
    CHECK_NOTHROW(
        parse_client_request(R"({"command":"exec","query":"SELECT ?","params":[1e308]})"));
}

TEST_CASE("a real parameter is read as the exact double its text names", "[shared]") {
    // Boost.JSON 1.81's own parser reads both of these one ulp off.
    auto req = parse_client_request(
        R"J({"command":"exec","query":"INSERT INTO t VALUES (?, :b)",)J"
        R"J("params":[-1.9934908051011654E189, 1.1430767782883795E-192, 0.1]})J");
    const json::array& params = req.statements[0].params.get_array();
    CHECK(params[0].get_double() == -1.9934908051011654e189);
    CHECK(params[1].get_double() == 1.1430767782883795e-192);
    CHECK(params[2].get_double() == 0.1);
    auto named = parse_client_request(
        R"J({"command":"exec","batch":[{"query":"SELECT :a","params":{":a":-3.156233559702614E-80}}]})J");
    CHECK(named.statements[0].params.at(":a").get_double() == -3.156233559702614e-80);
}

TEST_CASE("a parameter below the smallest subnormal is zero, not a bad request", "[shared]") {
    auto req = parse_client_request(
        R"({"command":"exec","query":"SELECT ?, ?","params":[0e400, -1e-400]})");
    CHECK(req.statements[0].params.get_array()[0].get_double() == 0.0);
    CHECK(std::signbit(req.statements[0].params.get_array()[1].get_double()));
}

// --- request_id and the outcome of a failed exec ----------------------------------------

TEST_CASE("an exec takes a request_id of 1 to 128 printable ASCII characters", "[shared]") {
    auto req = parse_client_request(
        R"x({"command":"exec","query":"INSERT INTO t VALUES (1)","request_id":"order 42/a~"})x");
    CHECK(req.request_id == "order 42/a~");
    std::string longest(128, 'x');
    CHECK(parse_client_request(R"({"command":"exec","query":"DELETE FROM t","request_id":")" +
                               longest + "\"}")
              .request_id == longest);
    CHECK(parse_client_request(R"({"command":"exec","query":"DELETE FROM t"})").request_id.empty());
}

TEST_CASE("a request_id that is empty, too long, not a string or not printable is a bad request",
          "[shared]") {
    const std::vector<std::string> ids{R"("")",
                                       "\"" + std::string(129, 'x') + "\"",
                                       "42",
                                       "null",
                                       R"(["a"])",
                                       R"("tab\there")",
                                       R"("new\nline")",
                                       R"("caf\u00e9")",
                                       R"("del\u007f")"};
    for (const std::string& id : ids)
        require_bad_request(R"({"command":"exec","query":"DELETE FROM t","request_id":)" + id +
                            "}");
}

TEST_CASE("a request_id on a query is a bad request", "[shared]") {
    require_bad_request(R"({"command":"query","query":"SELECT 1","request_id":"a"})");
}

TEST_CASE("an exec error response carries its outcome, and its index when committed", "[shared]") {
    auto body = [](const HttpResponse& res) { return json::parse(res.body()).as_object(); };
    HttpResponse not_applied =
        exec_error_response(ErrorKind::bad_request, "no such table: t", ExecOutcome::not_applied);
    CHECK(not_applied.result_int() == 400);
    CHECK(body(not_applied).at("outcome") == "not_applied");
    CHECK(body(not_applied).at("ok") == false);
    CHECK(body(not_applied).at("error") == "no such table: t");
    CHECK_FALSE(body(not_applied).contains("index"));

    HttpResponse committed =
        exec_error_response(Error(ErrorKind::timeout, "not acked"), ExecOutcome::committed, 7);
    CHECK(committed.result_int() == 504);
    CHECK(body(committed).at("outcome") == "committed");
    CHECK(body(committed).at("index") == 7);

    CHECK(body(with_exec_outcome(error_response(ErrorKind::unavailable, "gone"),
                                 ExecOutcome::unknown))
              .at("outcome") == "unknown");
    for (ExecOutcome o : {ExecOutcome::not_applied, ExecOutcome::committed, ExecOutcome::unknown})
        CHECK(parse_exec_outcome(exec_outcome_name(o)) == o);
    CHECK_FALSE(parse_exec_outcome("applied"));
}
