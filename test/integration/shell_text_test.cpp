// The shell's pure parts without a node: where statements end, what kind each is, and the
// csv, json, line and table renderings of typed values (tools/shell/sql_text.hpp,
// result_printer.hpp).

#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "result_printer.hpp"
#include "sql_text.hpp"

using namespace sqlrep::shell;
namespace json = boost::json;

namespace {

std::vector<std::string> feed(StatementBuffer& buffer, const std::vector<std::string>& lines) {
    std::vector<std::string> all;
    for (const std::string& line : lines) {
        buffer.add_line(line);
        for (std::string& s : buffer.take_complete()) all.push_back(std::move(s));
    }
    return all;
}

std::string render(OutputMode mode, const json::array& columns, const json::array& rows) {
    std::ostringstream out;
    ResultPrinter printer(out);
    printer.set_mode(mode);
    printer.print_rows(columns, rows);
    return out.str();
}

}  // namespace

TEST_CASE("shell statements end at a semicolon outside literals, comments and trigger bodies",
          "[shell]") {
    StatementBuffer buffer;
    auto statements = feed(buffer, {"SELECT 'a;b', \"c;d\" -- e;f", "; SELECT 2; SELECT", "3"});
    REQUIRE(statements.size() == 2);
    CHECK(statements[0] == "SELECT 'a;b', \"c;d\" -- e;f\n;");
    CHECK(statements[1] == "SELECT 2;");
    CHECK_FALSE(buffer.empty());
    CHECK(buffer.take_rest() == " SELECT\n3\n");

    statements = feed(buffer, {"CREATE TRIGGER t AFTER INSERT ON x BEGIN",
                               "  INSERT INTO y VALUES (1); /* ; */", "END;"});
    REQUIRE(statements.size() == 1);
    CHECK(statements[0].find("END;") != std::string::npos);
    CHECK(buffer.empty());

    // Comments and blank lines alone begin no statement.
    CHECK(feed(buffer, {"-- only a comment", "/* and; this */", "   "}).empty());
    CHECK(buffer.empty());
    CHECK(buffer.take_rest().empty());
}

TEST_CASE("shell sends reads as queries, the rest as exec, and keeps transactions itself",
          "[shell]") {
    CHECK(classify("select 1") == StatementKind::read);
    CHECK(classify("  /* c */ VALUES (1)") == StatementKind::read);
    CHECK(classify("EXPLAIN QUERY PLAN SELECT 1") == StatementKind::read);
    CHECK(classify("PRAGMA table_info(t)") == StatementKind::read);
    CHECK(classify("WITH a(x) AS (SELECT 1) SELECT x FROM a") == StatementKind::read);
    CHECK(classify("WITH a(x) AS (SELECT 1) INSERT INTO t SELECT x FROM a") ==
          StatementKind::write);
    CHECK(classify("INSERT INTO t VALUES (1)") == StatementKind::write);
    CHECK(classify("CREATE TABLE t (x)") == StatementKind::write);
    CHECK(classify("BEGIN IMMEDIATE TRANSACTION") == StatementKind::begin);
    CHECK(classify("END") == StatementKind::commit);
    CHECK(classify("commit;") == StatementKind::commit);
    CHECK(classify("ROLLBACK TRANSACTION") == StatementKind::rollback);
    CHECK(classify("ROLLBACK TO sp") == StatementKind::write);  // a savepoint: the node refuses
    CHECK(quote_literal("it's") == "'it''s'");
    CHECK(quote_identifier("a\"b") == "\"a\"\"b\"");
}

TEST_CASE("shell output modes render NULL, text, reals and blobs", "[shell]") {
    json::array columns{"id", "name", "r", "b"};
    json::array rows{json::array{1, "a,\"b\"", 2.0, json::object{{"blob", "AP8="}}},
                     json::array{22, nullptr, 0.1, ""}};

    CHECK(
        render(OutputMode::csv, columns, rows) ==
        "id,name,r,b\r\n1,\"a,\"\"b\"\"\",2.0,\"{\"\"blob\"\":\"\"AP8=\"\"}\"\r\n22,,0.1,\"\"\r\n");
    CHECK(render(OutputMode::line, columns, rows) ==
          "  id = 1\nname = a,\"b\"\n   r = 2.0\n   b = {\"blob\":\"AP8=\"}\n\n"
          "  id = 22\nname = \n   r = 0.1\n   b = \n");
    std::string js = render(OutputMode::json, columns, rows);
    CHECK(json::parse(js) == json::parse(R"([{"id":1,"name":"a,\"b\"","r":2.0,"b":{"blob":"AP8="}},
                                             {"id":22,"name":null,"r":0.1,"b":""}])"));
    CHECK(render(OutputMode::table, json::array{"n", "t"},
                 json::array{json::array{7, "ü\nx"}, json::array{123, nullptr}}) ==
          "┌─────┬──────┐\n"
          "│ n   │ t    │\n"
          "├─────┼──────┤\n"
          "│   7 │ ü\\nx │\n"
          "│ 123 │      │\n"
          "└─────┴──────┘\n");
    CHECK(render(OutputMode::table, json::array{}, json::array{}).empty());
}
