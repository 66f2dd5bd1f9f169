// The pure parts of the etcd building block: the master record's JSON, the master key's
// name and the endpoint list. Everything that talks to etcd is tested against a real
// member in test/integration/etcd_client_test.cpp.

#include <string>

#include <catch2/catch.hpp>

#include "shared/etcd_client.hpp"
#include "shared/master_lease.hpp"

using namespace sqlrep;

TEST_CASE("master record round-trips through its JSON", "[shared][etcd]") {
    MasterRecord record{7, 42, "https://10.0.0.7:4001"};
    std::string text = encode_master_record(record);
    CHECK(text == R"({"id":7,"term":42,"url":"https://10.0.0.7:4001"})");
    CHECK(decode_master_record(text) == record);
}

TEST_CASE("master record decoding refuses what is not a record", "[shared][etcd]") {
    for (const char* text :
         {"", "null", "[]", R"({"id":1,"term":2})", R"({"id":"1","term":2,"url":"u"})",
          R"({"id":1,"term":2.5,"url":"u"})", R"({"id":1,"term":2,"url":3})", "{"}) {
        INFO(text);
        CHECK_THROWS_AS(decode_master_record(text), Error);
    }
}

TEST_CASE("master key is /sqlrep/<cluster-name>/master", "[shared][etcd]") {
    CHECK(MasterLease::key_for("prod") == "/sqlrep/prod/master");
    CHECK_THROWS_AS(MasterLease::key_for(""), Error);
    CHECK_THROWS_AS(MasterLease::key_for("a/b"), Error);
}

TEST_CASE("etcd endpoint lists split on commas and refuse what is not http", "[shared][etcd]") {
    CHECK(parse_etcd_endpoints("http://127.0.0.1:2379") ==
          std::vector<std::string>{"http://127.0.0.1:2379"});
    CHECK(parse_etcd_endpoints("http://a:2379, http://b:2379 ,http://c:2379") ==
          std::vector<std::string>{"http://a:2379", "http://b:2379", "http://c:2379"});
    CHECK_THROWS_AS(parse_etcd_endpoints(""), Error);
    CHECK_THROWS_AS(parse_etcd_endpoints("http://a:2379,"), Error);
    CHECK_THROWS_AS(parse_etcd_endpoints("https://a:2379"), Error);
    CHECK_THROWS_AS(parse_etcd_endpoints("http://a:notaport"), Error);
}

TEST_CASE("etcd errors carry their kind, also as an sqlrep error category", "[shared][etcd]") {
    EtcdError unreachable(EtcdErrorKind::unreachable, "x");
    CHECK(unreachable.kind() == ErrorKind::unavailable);
    CHECK(EtcdError(EtcdErrorKind::timeout, "x").kind() == ErrorKind::timeout);
    EtcdError rejected(EtcdErrorKind::rejected, "x", 5);
    CHECK(rejected.grpc_code() == 5);
    CHECK(std::string(etcd_error_kind_name(rejected.etcd_kind())) == "rejected");
}
