#pragma once
// Parses the --to-time argument of build/bin/restore: Unix milliseconds (digits only) or
// an RFC 3339 timestamp ("2026-12-03T04:05:06Z", "2026-12-03T04:05:06.250+01:00"; a space
// may stand for the T, and a lower-case t or z is accepted, as RFC 3339 allows).

#include <cstdint>
#include <optional>
#include <string>

namespace sqlrep::restore {

// Unix milliseconds, or nullopt when `text` is neither form.
std::optional<int64_t> parse_point_in_time(const std::string& text);

}  // namespace sqlrep::restore
