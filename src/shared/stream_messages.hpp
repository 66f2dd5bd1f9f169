#pragma once
// The replication stream's messages, both directions. docs/PROTOCOL.md is the
// specification; these are its only encoder and decoder. Entries travel in binary frames
// (fixed-width fields, then the body's bytes as they are), so a replica parses each body
// once, when it runs it; every other message is a small JSON text frame.
// Decoders validate fully and throw Error(bad_request) on anything malformed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/log_entry.hpp"

namespace sqlrep {

// The stream's wire format version. A replica asks for it in its handshake
// (`/_cluster/stream?...&proto=4`) and the master names its own in the upgrade answer's
// X-Sqlrep-Stream-Protocol header; each side refuses any other, so nodes of different
// sqlrep versions say so instead of misreading each other's frames.
// 1: entries as JSON text frames (no version sent). 2: binary entries frames.
// 3: entries carry effects instead of statements, with no seed or row count.
// 4: terms in the handshake (StreamHello), refusals with a kind; entries frames (tag
//    "SRE3") carry each entry's request_id.
inline constexpr int kStreamProtocol = 4;
inline constexpr const char* kStreamProtocolHeader = "X-Sqlrep-Stream-Protocol";
// The master's id, in the upgrade answer (its term is in kTermHeader).
inline constexpr const char* kStreamNodeHeader = "X-Sqlrep-Node";
inline constexpr std::string_view kStreamPath = "/_cluster/stream";

// replica -> master: the handshake, carried in the upgrade request's target.
struct StreamHello {
    int node_id = 0;
    int64_t from = 0;          // the last index the node holds
    std::optional<Hash> hash;  // its hash (required when from > 0)
    int64_t last_term = 0;     // its term
    int64_t term = 0;          // the node's current term
    std::string url;           // where the node serves clients
    bool wants_snapshot = false;
    int proto = kStreamProtocol;
};
// "/_cluster/stream?node_id=..&from=..&..."
std::string encode_stream_hello(const StreamHello& hello);
// Throws Error(bad_request) on a malformed target; a `proto` other than kStreamProtocol
// decodes (the master refuses it with a clear message).
StreamHello decode_stream_hello(std::string_view target);
// The refusal when `them` ("replica 2", "the master") names stream protocol `theirs` ("" from
// a node older than the version: 1) and `us` ("this master") speaks kStreamProtocol.
std::string stream_protocol_mismatch(const std::string& them, std::string_view theirs,
                                     const std::string& us);

// master -> replica, binary frames
std::string encode_stream_entries(const std::vector<Entry>& entries);
// The same frame built from entries already encoded one by one with encode_stream_entry
// (the master keeps recent entries encoded once, in memory).
std::string encode_stream_entry(const Entry& entry);
std::string join_stream_entries(const std::vector<const std::string*>& encoded);
// At least one entry; index and term at least 1.
std::vector<Entry> decode_stream_entries(std::string_view frame);

// Why a master ends (or refuses) a stream; the replica acts on the kind, never the text.
enum class StreamRefusal {
    diverged,       // the replica's history is not a prefix of the master's: it resyncs
    master_behind,  // the replica holds entries of the master's own term the master lacks
    stale_term,     // one side's term is older than the other's
    other,          // anything else: reconnect later
};
const char* stream_refusal_name(StreamRefusal kind);

// master -> replica, text frames
std::string encode_stream_heartbeat(int64_t commit_index);
std::string encode_stream_error(StreamRefusal kind, const std::string& problem);
// Announces a snapshot of `bytes` bytes, which follows as binary frames.
std::string encode_stream_snapshot(const LogPosition& position, uint64_t bytes,
                                   const std::string& checksum);

struct StreamMessage {
    enum class Type { heartbeat, error, snapshot };
    Type type = Type::heartbeat;
    int64_t commit_index = 0;                      // heartbeat
    StreamRefusal refusal = StreamRefusal::other;  // error
    std::string error;                             // error
    LogPosition snapshot_position;                 // snapshot
    uint64_t snapshot_bytes = 0;                   // snapshot
    std::string snapshot_checksum;                 // snapshot
};
StreamMessage decode_stream_message(std::string_view text);

// replica -> master
std::string encode_stream_ack(int64_t applied_index);
int64_t decode_stream_ack(std::string_view text);

}  // namespace sqlrep
