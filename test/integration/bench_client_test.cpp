// bench's load client (tools/bench/plain_http_connection) against a real node: the path
// bench's own integration test never takes, a kept-alive connection that the node closed
// while it sat idle.

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "plain_http_connection.hpp"
#include "shared/url.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

TEST_CASE("bench's plain connection reopens a kept-alive connection the node closed while idle",
          "[integration][tools]") {
    ClusterOptions options;
    options.replicas = 0;
    // The node drops a connection that sends no request for this long.
    options.master_args = {"--header-timeout-ms", "200"};
    Cluster cluster(options);

    bench::PlainHttpConnection connection(parse_url(cluster.master().url()), "",
                                          std::chrono::seconds(5));
    bench::Request query;
    query.body = R"({"command":"query","query":"SELECT 41 + 1"})";
    HttpResult first = connection.request(query);
    CHECK(first.status == 200);

    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    HttpResult second = connection.request(query);  // on the closed connection first
    INFO(second.body);
    CHECK(second.status == 200);
    CHECK(second.body.find("[[42]]") != std::string::npos);
}
