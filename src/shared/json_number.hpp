#pragma once
// JSON parsing that reads every real exactly. Boost.JSON 1.81's parser rounds some decimal
// numbers to a neighbour of the correctly rounded double (one ulp off), and reads 0e400 as
// NaN; a client's real would then be stored as a value it never sent. parse_json_exact
// parses like json::parse but converts each number that is not an integer from its own
// text with the C library's correctly rounded strtod, so text -> double is exact.
//
// The other direction needs nothing: Boost.JSON's serializer prints the shortest text that
// reads back as the same double (Ryu), for every finite double, -0.0 and subnormals
// included (test/shared/json_number_test.cpp checks it over many values).
//
// Pure functions, any thread.

#include <string_view>

#include "shared/json.hpp"

namespace sqlrep {

// Like json::parse(text, ec, sp, options), with exact reals. Integers that fit int64 or
// uint64 stay integers, as with json::parse. A number beyond double's range becomes an
// infinity (as with json::parse): callers that cannot store one must refuse it.
json::value parse_json_exact(std::string_view text, boost::system::error_code& ec,
                             json::storage_ptr sp = {}, const json::parse_options& options = {});

// The correctly rounded double of a JSON number's text (the grammar is not checked
// again: `text` is what the parser accepted as a number). Out of range: +-infinity, or
// +-0.0 below the smallest subnormal.
double json_number_to_double(std::string_view text);

}  // namespace sqlrep
