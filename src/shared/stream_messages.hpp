#pragma once
// The replication stream's messages (WebSocket text frames, JSON), both directions.
// docs/PROTOCOL.md is the specification; these are its only encoder and decoder.
// Decoders validate fully and throw Error(bad_request) on anything malformed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/log_entry.hpp"

namespace sqlrep {

// master -> replica
std::string encode_stream_entries(const std::vector<Entry>& entries);
// The same message built from entries already encoded one by one with
// encode_stream_entry (the master keeps recent entries encoded once, in memory).
std::string encode_stream_entry(const Entry& entry);
std::string join_stream_entries(const std::vector<const std::string*>& encoded);
std::string encode_stream_heartbeat(int64_t commit_index);
std::string encode_stream_error(const std::string& problem);
// Announces a snapshot of `bytes` bytes, which follows as binary frames.
std::string encode_stream_snapshot(const LogPosition& position, uint64_t bytes,
                                   const std::string& checksum);

struct StreamMessage {
    enum class Type { entries, heartbeat, error, snapshot };
    Type type = Type::heartbeat;
    std::vector<Entry> entries;  // entries
    int64_t commit_index = 0;    // heartbeat
    std::string error;           // error
    LogPosition snapshot_position;  // snapshot
    uint64_t snapshot_bytes = 0;    // snapshot
    std::string snapshot_checksum;  // snapshot
};
StreamMessage decode_stream_message(std::string_view text);

// replica -> master
std::string encode_stream_ack(int64_t applied_index);
int64_t decode_stream_ack(std::string_view text);

}  // namespace sqlrep
