// parse_json_exact and json_number_to_double: every finite double goes text -> double bit
// for bit, and Boost.JSON's serializer prints text that reads back as the same double.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/json_number.hpp"

using namespace sqlrep;

namespace {

uint64_t bits_of(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
}

double from_bits(uint64_t bits) {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

json::value parse_exact(const std::string& text) {
    boost::system::error_code ec;
    json::value v = parse_json_exact(text, ec);
    INFO("text: " << text);
    REQUIRE_FALSE(ec);
    return v;
}

// The double in `text` (a bare number) as parse_json_exact reads it.
uint64_t exact_bits(const std::string& text) {
    json::value v = parse_exact(text);
    INFO("text: " << text);
    REQUIRE(v.is_double());
    return bits_of(v.get_double());
}

// Random bit patterns, infinities and NaNs skipped: every exponent and sign is as likely
// as any other, which is where Boost.JSON 1.81's parser goes wrong most.
std::vector<double> random_finite_doubles(std::size_t count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> out;
    while (out.size() < count) {
        double d = from_bits(rng());
        if (std::isfinite(d)) out.push_back(d);
    }
    return out;
}

}  // namespace

TEST_CASE("numbers Boost.JSON 1.81 reads one ulp off are read exactly", "[shared]") {
    // Found by comparing json::parse with strtod over random doubles; each is the shortest
    // text Boost.JSON's own serializer prints for that double.
    struct Known {
        const char* text;
        uint64_t bits;
    };
    const Known known[] = {
        {"-1.9934908051011654E189", 0xe73ca28e4d361955},
        {"1.1430767782883795E-192", 0x1814dc629c7f4f7c},
        {"-1.0442758598704387E-216", 0x93170a1965d42420},
        {"1.9162297225132058E173", 0x63e8cae041677d61},
        {"2.1542687414875476E-293", 0x032b846d0bbd3f4b},
        {"-3.156233559702614E-80", 0xaf6df0655c6891d8},
    };
    for (const auto& k : known) {
        INFO(k.text);
        CHECK(exact_bits(k.text) == k.bits);
        CHECK(bits_of(json_number_to_double(k.text)) == k.bits);
        CHECK(json::serialize(json::value(from_bits(k.bits))) == k.text);
    }
}

TEST_CASE("edge doubles read exactly", "[shared]") {
    const double max = std::numeric_limits<double>::max();
    const double min_normal = std::numeric_limits<double>::min();
    const double min_subnormal = std::numeric_limits<double>::denorm_min();
    CHECK(exact_bits("0.0") == bits_of(0.0));
    CHECK(exact_bits("-0.0") == bits_of(-0.0));
    CHECK(exact_bits("-0E0") == bits_of(-0.0));
    CHECK(exact_bits("5e-324") == bits_of(min_subnormal));
    CHECK(exact_bits("4.9406564584124654e-324") == bits_of(min_subnormal));
    CHECK(exact_bits("2.2250738585072014e-308") == bits_of(min_normal));
    CHECK(exact_bits("2.2250738585072011e-308") == bits_of(std::nextafter(min_normal, 0.0)));
    CHECK(exact_bits("1.7976931348623157e308") == bits_of(max));
    CHECK(exact_bits("-1.7976931348623157E308") == bits_of(-max));
    CHECK(exact_bits("1e308") == bits_of(1e308));
    CHECK(exact_bits("0.1") == bits_of(0.1));
    CHECK(exact_bits("0.30000000000000004") == bits_of(0.1 + 0.2));
    CHECK(exact_bits("3.0000000000000004E-1") == bits_of(0.1 + 0.2));
    CHECK(exact_bits("0.3") == bits_of(0.3));
    CHECK(exact_bits("9007199254740993.0") == bits_of(9007199254740992.0));  // a tie: even
}

TEST_CASE("long decimal numbers round correctly, ties to even", "[shared]") {
    // 1 + 2^-53 exactly: halfway between 1 and the next double, rounds to even (1).
    const std::string half = "1.00000000000000011102230246251565404236316680908203125";
    CHECK(exact_bits(half) == bits_of(1.0));
    // A hair above halfway rounds up, however far down the digit is.
    CHECK(exact_bits(half + std::string(700, '0') + "1") == bits_of(std::nextafter(1.0, 2.0)));
    // 0.1's exact binary value, written out in full.
    CHECK(exact_bits("0.1000000000000000055511151231257827021181583404541015625") == bits_of(0.1));
}

TEST_CASE("numbers outside double's range read as infinity or zero", "[shared]") {
    CHECK(exact_bits("1e400") == bits_of(std::numeric_limits<double>::infinity()));
    CHECK(exact_bits("-1e400") == bits_of(-std::numeric_limits<double>::infinity()));
    CHECK(exact_bits("1.8e308") == bits_of(std::numeric_limits<double>::infinity()));
    CHECK(exact_bits("1e-400") == bits_of(0.0));
    CHECK(exact_bits("-1e-400") == bits_of(-0.0));
    // Boost.JSON 1.81 reads this one as NaN.
    CHECK(exact_bits("0e400") == bits_of(0.0));
    // Just below half the smallest subnormal: zero; just above: the smallest subnormal.
    CHECK(exact_bits("2.4703282292062327e-324") == bits_of(0.0));
    CHECK(exact_bits("2.4703282292062328e-324") ==
          bits_of(std::numeric_limits<double>::denorm_min()));
}

TEST_CASE("every random finite double survives serialize then parse_json_exact", "[shared]") {
    for (double d : random_finite_doubles(200000, 16)) {
        std::string text = json::serialize(json::value(d));
        uint64_t back = bits_of(parse_exact(text).get_double());
        if (back != bits_of(d)) FAIL("serialized as " << text << ", read back differently");
    }
}

TEST_CASE("every random finite double survives %.17g then parse_json_exact", "[shared]") {
    for (double d : random_finite_doubles(100000, 17)) {
        char text[64];
        std::snprintf(text, sizeof text, "%.17g", d);
        std::string number = text;
        // JSON wants a digit after the point and no "inf": %.17g of a finite double has both.
        if (number.find_first_of(".eE") == std::string::npos) number += ".0";
        uint64_t back = bits_of(json_number_to_double(number));
        if (back != bits_of(d)) FAIL(number << " read back differently");
    }
}

TEST_CASE("reals inside arrays and objects are read exactly", "[shared]") {
    json::value v = parse_exact(
        R"({"a":[1.1430767782883795E-192,{"b":-1.9934908051011654E189}],"c":0e400,"d":"1.5"})");
    const json::object& o = v.as_object();
    CHECK(bits_of(o.at("a").as_array()[0].as_double()) == 0x1814dc629c7f4f7c);
    CHECK(bits_of(o.at("a").as_array()[1].as_object().at("b").as_double()) == 0xe73ca28e4d361955);
    CHECK(bits_of(o.at("c").as_double()) == bits_of(0.0));
    CHECK(o.at("d") == json::value("1.5"));
}

TEST_CASE("parse_json_exact builds what json::parse builds for everything but reals", "[shared]") {
    const std::string text =
        R"({"s":"x\u00e9\n","i":-9223372036854775808,"u":18446744073709551615,"big":)"
        R"(18446744073709551616,"t":true,"f":false,"n":null,"e":[],"o":{},"nest":[[1,[2]]]})";
    boost::system::error_code ec;
    json::value boost_parsed = json::parse(text, ec);
    REQUIRE_FALSE(ec);
    json::value exact = parse_exact(text);
    CHECK(exact == boost_parsed);
    CHECK(exact.as_object().at("i").is_int64());
    CHECK(exact.as_object().at("u").is_uint64());
    CHECK(exact.as_object().at("big").as_double() == 18446744073709551616.0);
}

TEST_CASE("parse_json_exact reports malformed JSON as json::parse does", "[shared]") {
    for (const char* text : {"", "{", "[1,]", "{\"a\":1} x", "1.", "-", "01", "1e", "nan",
                             "Infinity", "[1.5", "\"\\x\""}) {
        INFO("text: " << text);
        boost::system::error_code ec_exact;
        parse_json_exact(text, ec_exact);
        boost::system::error_code ec_boost;
        json::parse(text, ec_boost);
        CHECK(ec_exact);
        CHECK(ec_exact == ec_boost);
    }
}

TEST_CASE("parse_json_exact keeps the depth limit of its options", "[shared]") {
    json::parse_options options;
    options.max_depth = 3;
    boost::system::error_code ec;
    parse_json_exact("[[[1.5]]]", ec, {}, options);
    CHECK_FALSE(ec);
    parse_json_exact("[[[[1.5]]]]", ec, {}, options);
    CHECK(ec == json::error::too_deep);
}
