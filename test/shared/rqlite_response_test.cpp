// rqlite's response side: sqlrep results reshaped (columns/types/values, associative rows,
// write counts, blobs), and the indented serialization.

#include <catch2/catch.hpp>

#include "shared/rqlite_response.hpp"

using namespace sqlrep;

namespace {
json::object result(const char* text) { return json::parse(text).as_object(); }
}  // namespace

TEST_CASE("rqlite results: reads with declared and inferred types", "[shared][rqlite]") {
    RqliteOptions plain;
    auto read = result(R"j({"columns":["id","name","n","b"],"types":["INTEGER","Text","",""],
                           "rows":[[1,"fiona",null,{"blob":"AP8="}],[2,"x",3.5,null]]})j");
    CHECK(json::value(rqlite_result(read, plain, std::nullopt)) == json::parse(R"j(
        {"columns":["id","name","n","b"],"types":["integer","text","real","blob"],
         "values":[[1,"fiona",null,"AP8="],[2,"x",3.5,null]]})j"));

    RqliteOptions associative;
    associative.associative = true;
    associative.blob_array = true;
    CHECK(json::value(rqlite_result(read, associative, 0.5)) == json::parse(R"j(
        {"types":{"id":"integer","name":"text","n":"real","b":"blob"},
         "rows":[{"id":1,"name":"fiona","n":null,"b":[0,255]},{"id":2,"name":"x","n":3.5,"b":null}],
         "time":0.5})j"));

    auto empty = result(R"j({"columns":["id"],"types":[""],"rows":[]})j");
    CHECK(json::value(rqlite_result(empty, plain, std::nullopt)) ==
          json::parse(R"j({"columns":["id"],"types":[""]})j"));
}

TEST_CASE("rqlite results: writes leave out zero counts", "[shared][rqlite]") {
    RqliteOptions plain;
    CHECK(json::value(rqlite_result(result(R"j({"rows_affected":2,"last_insert_id":7})j"), plain,
                                    std::nullopt)) ==
          json::parse(R"j({"last_insert_id":7,"rows_affected":2})j"));
    CHECK(json::value(rqlite_result(result(R"j({"rows_affected":0,"last_insert_id":0})j"), plain,
                                    std::nullopt)) == json::parse("{}"));
    CHECK(json::value(rqlite_error_result("boom")) == json::parse(R"j({"error":"boom"})j"));
}

TEST_CASE("rqlite pretty output indents with four spaces and parses back", "[shared][rqlite]") {
    json::value v = json::parse(R"j({"results":[{"columns":["a"],"values":[[1]]}],"x":{}})j");
    std::string text = rqlite_serialize(v, true);
    CHECK(text.find("{\n    \"results\": [\n        {\n") == 0);
    CHECK(json::parse(text) == v);
    CHECK(rqlite_serialize(v, false) == json::serialize(v));
}
