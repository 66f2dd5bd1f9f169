#include "shared/change_feed_request.hpp"

#include <charconv>

#include "shared/error.hpp"
#include "shared/identifiers.hpp"
#include "shared/rqlite_request.hpp"

namespace sqlrep {
namespace {

// The largest index accepted: far beyond any log, small enough that index + 1 never
// overflows.
constexpr int64_t kMaxIndex = int64_t{1} << 62;

int64_t parse_index(std::string_view text, const char* what, int64_t min) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > kMaxIndex)
        throw Error(ErrorKind::bad_request, std::string(what) + " must be an integer from " +
                                                std::to_string(min) + ", not '" +
                                                std::string(text) + "'");
    return value;
}

}  // namespace

bool ChangeFeedRequest::wants(std::string_view table) const {
    if (tables.empty()) return true;
    for (const auto& t : tables)
        if (iequals(t, table)) return true;
    return false;
}

ChangeFeedRequest parse_change_feed_request(std::string_view target,
                                            std::optional<std::string_view> last_event_id) {
    ChangeFeedRequest req;
    auto q = target.find('?');
    std::string_view query =
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    bool seen_from = false, seen_tables = false, seen_snapshot = false;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        std::string name = url_decode(pair.substr(0, eq));
        std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
        auto once = [&](bool& seen) {
            if (seen) throw Error(ErrorKind::bad_request, "'" + name + "' is given twice");
            seen = true;
        };
        if (name == "from") {
            once(seen_from);
            req.from = parse_index(value, "from", 1);
        } else if (name == "tables") {
            once(seen_tables);
            std::string_view rest = value;
            while (true) {
                auto comma = rest.find(',');
                std::string_view table = rest.substr(0, comma);
                if (table.empty())
                    throw Error(ErrorKind::bad_request,
                                "tables must be a comma-separated list of table names");
                req.tables.emplace_back(table);
                if (comma == std::string_view::npos) break;
                rest = rest.substr(comma + 1);
            }
        } else if (name == "snapshot") {
            once(seen_snapshot);
            if (value == "true" || value == "1" || value.empty())
                req.snapshot = true;
            else if (value == "false" || value == "0")
                req.snapshot = false;
            else
                throw Error(ErrorKind::bad_request, "snapshot must be true or false");
        } else {
            throw Error(ErrorKind::bad_request, "unknown parameter '" + name +
                                                    "' (GET /changes takes from, tables "
                                                    "and snapshot)");
        }
    }
    if (last_event_id && !last_event_id->empty()) {
        req.from = parse_index(*last_event_id, "Last-Event-ID", 0) + 1;
        req.snapshot = false;
    }
    return req;
}

}  // namespace sqlrep
