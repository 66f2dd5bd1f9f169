#include "shared/log_entry.hpp"

#include <chrono>

#include <xxhash.h>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

void put_int(XXH3_state_t* state, int64_t value) {
    uint8_t bytes[8];
    for (int i = 0; i < 8; ++i)
        bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
    XXH3_128bits_update(state, bytes, sizeof bytes);
}

}  // namespace

std::string to_hex(const Hash& hash) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(32);
    for (uint8_t b : hash) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

Hash hash_from_hex(const std::string& hex) {
    if (hex.size() != 32) throw Error(ErrorKind::bad_request, "a hash is 32 hex digits");
    auto nibble = [&](char c) -> uint8_t {
        if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
        throw Error(ErrorKind::bad_request, "a hash is 32 lower-case hex digits");
    };
    Hash hash{};
    for (size_t i = 0; i < 16; ++i)
        hash[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    return hash;
}

Hash chain_hash(const Hash& previous, const Entry& entry) {
    XXH3_state_t* state = XXH3_createState();
    // Seed 0 (what XXH3_128bits_reset uses) without an id, 1 with one: the two input
    // layouts never hash alike however a body's bytes happen to start.
    XXH3_128bits_reset_withSeed(state, entry.request_id.empty() ? 0 : 1);
    XXH3_128bits_update(state, previous.data(), previous.size());
    put_int(state, entry.index);
    put_int(state, entry.term);
    put_int(state, entry.time_ms);
    if (!entry.request_id.empty()) {
        auto size = static_cast<uint16_t>(entry.request_id.size());
        uint8_t bytes[2] = {static_cast<uint8_t>(size), static_cast<uint8_t>(size >> 8)};
        XXH3_128bits_update(state, bytes, sizeof bytes);
        XXH3_128bits_update(state, entry.request_id.data(), entry.request_id.size());
    }
    XXH3_128bits_update(state, entry.body.data(), entry.body.size());
    XXH128_hash_t digest = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, digest);
    Hash out;
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), out.begin());
    return out;
}

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
    for (char c : id)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

int64_t unix_time_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace sqlrep
