#pragma once
// Comparing SQL identifiers as SQLite does: ASCII letters without regard to case (table,
// column, schema and function names). Free functions; any thread.

#include <algorithm>
#include <cctype>
#include <string_view>

namespace sqlrep {

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace sqlrep
