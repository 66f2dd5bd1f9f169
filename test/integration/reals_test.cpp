// Reals round-trip bit for bit: doubles written through the master and through a replica,
// as the shortest text and as 17 significant digits, are read back identical from every
// node. Answers are parsed here with parse_json_exact: the harness's json::parse is the
// inexact Boost.JSON 1.81 parser this is about.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "shared/json_number.hpp"

using namespace sqlrep::test;

namespace {

uint64_t bits_of(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
}

// Edge values, numbers Boost.JSON 1.81 reads one ulp off, and random finite bit patterns.
std::vector<double> test_doubles() {
    const double max = std::numeric_limits<double>::max();
    std::vector<double> out = {0.0,
                               -0.0,
                               0.1,
                               0.1 + 0.2,
                               1.0 / 3.0,
                               1e308,
                               max,
                               -max,
                               std::numeric_limits<double>::min(),
                               std::numeric_limits<double>::denorm_min(),
                               -std::numeric_limits<double>::denorm_min(),
                               std::nextafter(std::numeric_limits<double>::min(), 0.0),
                               9007199254740993.0,
                               -1.9934908051011654e189,
                               1.1430767782883795e-192,
                               -1.0442758598704387e-216,
                               1.9162297225132058e173,
                               2.1542687414875476e-293,
                               -3.156233559702614e-80};
    std::mt19937_64 rng(20240616);
    while (out.size() < 160) {
        uint64_t bits = rng();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) out.push_back(d);
    }
    return out;
}

// An exec body inserting (id, x, y) for each value, the numbers written as `%.17g` (not
// the shortest text: the node must round longer text correctly too) or as
// json::serialize prints them.
std::string insert_body(const std::vector<double>& values, int first_id, bool seventeen_digits) {
    std::string batch;
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::string number;
        if (seventeen_digits) {
            char text[64];
            std::snprintf(text, sizeof text, "%.17g", values[i]);
            number = text;
            // "0" and "-0" would be integers in JSON: a real needs a point or an exponent.
            if (number.find_first_of(".e") == std::string::npos) number += ".0";
        } else {
            number = json::serialize(json::value(values[i]));
        }
        batch += std::string(i ? "," : "") +
                 R"J({"query":"INSERT INTO r(id, x, y) VALUES (?, ?, ?)","params":[)J" +
                 std::to_string(first_id + static_cast<int>(i)) + "," + number + "," + number +
                 "]}";
    }
    return R"({"command":"exec","batch":[)" + batch + "]}";
}

void insert(Cluster& c, Node& node, const std::vector<double>& values, int first_id,
            bool seventeen_digits) {
    NodeClient client = c.client(node);
    Response r = client.request(boost::beast::http::verb::post, "/",
                                insert_body(values, first_id, seventeen_digits),
                                {{"Content-Type", "application/json"}});
    INFO(node.name() << ": " << r.describe());
    REQUIRE(r.ok());
}

// Checks that `node` returns exactly `values` for ids first_id.. in both columns. A REAL
// column stores -0.0 as 0.0 (SQLite's affinity: docs/API.md); the untyped x keeps it.
void check_reads_back(Cluster& c, Node& node, const std::vector<double>& values, int first_id) {
    Response r = c.query(node,
                         "SELECT id, x, y, typeof(x) FROM r WHERE id >= ? AND id < ? "
                         "ORDER BY id",
                         json::array{first_id, first_id + static_cast<int>(values.size())});
    REQUIRE(r.ok());
    boost::system::error_code ec;
    json::value answer = sqlrep::parse_json_exact(r.raw, ec);
    REQUIRE_FALSE(ec);
    const json::array& rows = answer.at("rows").as_array();
    REQUIRE(rows.size() == values.size());
    int mismatches = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const json::array& row = rows[i].as_array();
        const uint64_t sent = bits_of(values[i]);
        const uint64_t sent_real = bits_of(values[i] == 0.0 ? 0.0 : values[i]);
        const bool x_ok = row[1].is_double() && bits_of(row[1].as_double()) == sent;
        const bool y_ok = row[2].is_double() && bits_of(row[2].as_double()) == sent_real;
        if (!x_ok || !y_ok) {
            ++mismatches;
            char sent_hex[32];
            std::snprintf(sent_hex, sizeof sent_hex, "%016llx",
                          static_cast<unsigned long long>(sent));
            UNSCOPED_INFO(node.name() << ": id " << row[0] << " sent bits " << sent_hex << ", got "
                                      << json::serialize(row));
        }
        CHECK(row[3] == json::value("real"));
    }
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("reals written through any node read back bit for bit from every node", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE r (id INTEGER PRIMARY KEY, x, y REAL)");
    const std::vector<double> values = test_doubles();
    const int n = static_cast<int>(values.size());

    insert(c, c.master(), values, 1, /*seventeen_digits=*/false);
    insert(c, c.replica(1), values, n + 1, /*seventeen_digits=*/false);
    insert(c, c.master(), values, 2 * n + 1, /*seventeen_digits=*/true);
    insert(c, c.replica(2), values, 3 * n + 1, /*seventeen_digits=*/true);
    c.wait_converged();

    for (Node* node : c.nodes())
        for (int round = 0; round < 4; ++round) check_reads_back(c, *node, values, round * n + 1);
    c.check_same_checksums();
}

TEST_CASE("a real beyond double's range is refused and one below it is zero", "[integration]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE r (id INTEGER PRIMARY KEY, x)");
    for (Node* node : c.nodes()) {
        NodeClient client = c.client(*node);
        Response big = client.request(
            boost::beast::http::verb::post, "/",
            R"J({"command":"exec","query":"INSERT INTO r(x) VALUES (?)","params":[1e400]})J",
            {{"Content-Type", "application/json"}});
        INFO(node->name() << ": " << big.describe());
        CHECK(big.status == 400);
    }
    NodeClient client = c.client(c.replica(1));
    Response tiny = client.request(
        boost::beast::http::verb::post, "/",
        R"J({"command":"exec","query":"INSERT INTO r(id, x) VALUES (1, ?), (2, ?)",)J"
        R"J("params":[0e400, -1e-400]})J",
        {{"Content-Type", "application/json"}});
    INFO(tiny.describe());
    REQUIRE(tiny.ok());
    c.wait_converged();
    json::array rows = c.check_identical("SELECT id, x, typeof(x) FROM r ORDER BY id");
    REQUIRE(rows.size() == 2);
    CHECK(bits_of(rows[0].as_array()[1].as_double()) == bits_of(0.0));
    CHECK(bits_of(rows[1].as_array()[1].as_double()) == bits_of(-0.0));
}
