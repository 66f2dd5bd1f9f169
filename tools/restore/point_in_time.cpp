#include "point_in_time.hpp"

#include <cctype>
#include <ctime>

namespace sqlrep::restore {
namespace {

// Reads exactly `n` digits at `pos`.
std::optional<int> digits(const std::string& s, std::size_t& pos, int n) {
    if (pos + static_cast<std::size_t>(n) > s.size()) return std::nullopt;
    int v = 0;
    for (int i = 0; i < n; ++i) {
        char c = s[pos + static_cast<std::size_t>(i)];
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
        v = v * 10 + (c - '0');
    }
    pos += static_cast<std::size_t>(n);
    return v;
}

bool expect(const std::string& s, std::size_t& pos, const char* any_of) {
    if (pos >= s.size()) return false;
    for (const char* c = any_of; *c; ++c)
        if (s[pos] == *c) {
            ++pos;
            return true;
        }
    return false;
}

}  // namespace

std::optional<int64_t> parse_point_in_time(const std::string& text) {
    if (text.empty()) return std::nullopt;
    if (text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos)
        return std::stoll(text);

    std::size_t p = 0;
    auto year = digits(text, p, 4);
    if (!year || !expect(text, p, "-")) return std::nullopt;
    auto month = digits(text, p, 2);
    if (!month || !expect(text, p, "-")) return std::nullopt;
    auto day = digits(text, p, 2);
    if (!day || !expect(text, p, "Tt ")) return std::nullopt;
    auto hour = digits(text, p, 2);
    if (!hour || !expect(text, p, ":")) return std::nullopt;
    auto minute = digits(text, p, 2);
    if (!minute || !expect(text, p, ":")) return std::nullopt;
    auto second = digits(text, p, 2);
    if (!second) return std::nullopt;
    if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
        *second > 60)
        return std::nullopt;
    int64_t ms = 0;
    if (p < text.size() && text[p] == '.') {
        ++p;
        int scale = 100, count = 0;
        while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) {
            ms += (text[p] - '0') * scale;
            scale /= 10;
            ++p;
            ++count;
        }
        if (count == 0) return std::nullopt;
    }
    int64_t offset_minutes = 0;
    if (expect(text, p, "Zz")) {
    } else if (p < text.size() && (text[p] == '+' || text[p] == '-')) {
        int sign = text[p] == '-' ? -1 : 1;
        ++p;
        auto oh = digits(text, p, 2);
        if (!oh || !expect(text, p, ":")) return std::nullopt;
        auto om = digits(text, p, 2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        offset_minutes = sign * (*oh * 60 + *om);
    } else {
        return std::nullopt;  // RFC 3339 requires the offset
    }
    if (p != text.size()) return std::nullopt;

    std::tm tm{};
    tm.tm_year = *year - 1900;
    tm.tm_mon = *month - 1;
    tm.tm_mday = *day;
    tm.tm_hour = *hour;
    tm.tm_min = *minute;
    tm.tm_sec = *second;
    int64_t seconds = static_cast<int64_t>(timegm(&tm));
    return (seconds - offset_minutes * 60) * 1000 + ms;
}

}  // namespace sqlrep::restore
