#include "node_list.hpp"

#include <stdexcept>

#include "shared/url.hpp"

namespace sqlrep::show_all {

std::vector<std::string> seed_addresses(int count) {
    std::vector<std::string> addresses;
    for (int i = 0; i < count; ++i)
        addresses.push_back("http://127.0.0.1:" + std::to_string(kSeedMasterPort + i));
    return addresses;
}

std::vector<std::string> parse_node_list(const std::string& text) {
    std::vector<std::string> addresses;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(start, comma - start);
        start = comma + 1;

        const auto first = item.find_first_not_of(" \t");
        if (first == std::string::npos) continue;  // tolerate "a,,b" and a trailing comma
        item = item.substr(first, item.find_last_not_of(" \t") - first + 1);

        Url url;
        try {
            url = parse_url(item);
        } catch (const std::exception& e) {
            throw std::invalid_argument(e.what());
        }
        addresses.push_back(url.origin());
    }
    if (addresses.empty()) throw std::invalid_argument("--nodes lists no address");
    return addresses;
}

}  // namespace sqlrep::show_all
