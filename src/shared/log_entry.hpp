#pragma once
// A log entry: one replicated unit of writes, its effects (effects.hpp) and the chained
// hash that ties it to all history before it. See docs/PROTOCOL.md.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sqlrep {

using Hash = std::array<uint8_t, 16>;  // XXH3-128, big-endian

std::string to_hex(const Hash& hash);
Hash hash_from_hex(const std::string& hex);  // throws Error(bad_request)

struct Entry {
    int64_t index = 0;
    int64_t term = 0;
    int64_t time_ms = 0;  // the master's clock when it executed the entry
    std::string body;     // its effects, encoded (effects.hpp)
    // The client's id for the write ("" for none): a retry with the same id is answered
    // with this entry's outcome instead of running again (docs/API.md). 1..128 printable
    // ASCII characters when set.
    std::string request_id;
    Hash hash{};  // chain_hash(previous entry's hash, this entry)
};

// Where a log stands: its last entry (or its base), as the stream and snapshots name it.
struct LogPosition {
    int64_t index = 0;
    int64_t term = 0;
    Hash hash{};
};

// hash(N) = XXH3-128(hash(N-1) || index || term || time_ms || body) for an entry without a
// request_id (so logs written before ids existed still chain); an entry with one is hashed
// with XXH3 seed 1 over hash(N-1) || index || term || time_ms || u16 id length || id || body.
// Two nodes that agree on hash(N) agree on every entry up to N.
Hash chain_hash(const Hash& previous, const Entry& entry);

// The wall clock in Unix milliseconds (what the master stamps on a new entry).
int64_t unix_time_ms();

// The longest request_id a write may carry.
inline constexpr std::size_t kMaxRequestIdBytes = 128;
// Whether `id` is a valid request_id: 1..kMaxRequestIdBytes characters, each printable
// ASCII (space to '~').
bool valid_request_id(std::string_view id);

}  // namespace sqlrep
