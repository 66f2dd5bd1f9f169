#pragma once
// A log entry: one replicated unit of writes, everything a replica needs to replay it
// identically, and the chained hash that ties it to all history before it. Also the codec
// of an entry's body, its statements. See docs/PROTOCOL.md.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "shared/json.hpp"
#include "shared/sql_executor.hpp"

namespace sqlrep {

using Hash = std::array<uint8_t, 16>;  // XXH3-128, big-endian

std::string to_hex(const Hash& hash);
Hash hash_from_hex(const std::string& hex);  // throws Error(bad_request)

struct Entry {
    int64_t index = 0;
    int64_t term = 0;
    int64_t time_ms = 0;   // the master's clock when it executed the entry
    int64_t seed = 0;      // seeds random()/randomblob() for the entry
    int64_t changes = 0;   // rows the entry changed on the master, triggers included
    std::string body;      // the statements: a JSON array of {"query", "params"}
    Hash hash{};           // chain_hash(previous entry's hash, this entry)
};

// Where a log stands: its last entry (or its base), as the stream and snapshots name it.
struct LogPosition {
    int64_t index = 0;
    int64_t term = 0;
    Hash hash{};
};

// hash(N) = XXH3-128(hash(N-1) || index || term || time_ms || seed || changes || body).
// Two nodes that agree on hash(N) agree on every entry up to N.
Hash chain_hash(const Hash& previous, const Entry& entry);

// The body of an entry for a list of statements, and back. decode throws
// Error(bad_request) on anything malformed; the params it returns live in `storage`,
// which must outlive them.
std::string encode_statements(const std::vector<SqlStatement>& statements);
std::vector<SqlStatement> decode_statements(const std::string& body,
                                            json::storage_ptr storage = {});

}  // namespace sqlrep
