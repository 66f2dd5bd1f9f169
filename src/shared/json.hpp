#pragma once
// Boost.JSON and its short alias, apart from net.hpp so that units which only speak JSON
// (the request parser, the log and stream codecs) build without Asio and Beast: the fuzz
// targets in test/fuzz/ compile exactly those units.

#include <boost/json.hpp>

namespace sqlrep {
namespace json = boost::json;
}  // namespace sqlrep
