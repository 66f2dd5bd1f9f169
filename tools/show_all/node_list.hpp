#pragma once
// Which nodes show_all inspects: the seed's numbering (master on 8080, replica i on
// 8080+i) or an explicit list of URLs. Pure functions, no I/O.

#include <string>
#include <vector>

namespace sqlrep::show_all {

constexpr int kSeedMasterPort = 8080;

// "http://127.0.0.1:8080" followed by `count - 1` replicas on the next ports.
std::vector<std::string> seed_addresses(int count);

// Splits "URL,URL,..." and normalises each URL to its origin ("http://host:port"); a
// missing scheme means http. Throws std::invalid_argument with a message for the user when
// a URL is unusable.
std::vector<std::string> parse_node_list(const std::string& text);

}  // namespace sqlrep::show_all
