// libFuzzer target: one text frame of the replication stream, as a replica decodes what
// the master sends (decode_stream_message) and as the master decodes a replica's ack
// (decode_stream_ack). Invariants, for any input:
//   - each decoder returns or throws Error(bad_request) (the connection is dropped and the
//     replica resyncs), nothing else;
//   - a decoded message re-encodes to a frame that decodes to the same message, and that
//     frame is a fixed point (encode(decode(frame)) == frame);
//   - a decoded entry round-trips through entry_to_json / entry_from_json, and its body,
//     the statements the applier will run, decodes or fails with bad_request only;
//   - a decoded ack is >= 0 and round-trips.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "shared/log_entry.hpp"
#include "shared/stream_messages.hpp"

using namespace sqlrep;
using namespace sqlrep::fuzz;

namespace {

bool same_entry(const Entry& a, const Entry& b) {
    return a.index == b.index && a.term == b.term && a.time_ms == b.time_ms && a.seed == b.seed &&
           a.changes == b.changes && a.body == b.body && a.hash == b.hash;
}

bool same_message(const StreamMessage& a, const StreamMessage& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
        case StreamMessage::Type::entries:
            if (a.entries.size() != b.entries.size()) return false;
            for (std::size_t i = 0; i < a.entries.size(); ++i)
                if (!same_entry(a.entries[i], b.entries[i])) return false;
            return true;
        case StreamMessage::Type::heartbeat:
            return a.commit_index == b.commit_index;
        case StreamMessage::Type::error:
            return a.error == b.error;
        case StreamMessage::Type::snapshot:
            return a.snapshot_position.index == b.snapshot_position.index &&
                   a.snapshot_position.term == b.snapshot_position.term &&
                   a.snapshot_position.hash == b.snapshot_position.hash &&
                   a.snapshot_bytes == b.snapshot_bytes &&
                   a.snapshot_checksum == b.snapshot_checksum;
    }
    return false;
}

std::string encode(const StreamMessage& m) {
    switch (m.type) {
        case StreamMessage::Type::entries:
            return encode_stream_entries(m.entries);
        case StreamMessage::Type::heartbeat:
            return encode_stream_heartbeat(m.commit_index);
        case StreamMessage::Type::error:
            return encode_stream_error(m.error);
        case StreamMessage::Type::snapshot:
            return encode_stream_snapshot(m.snapshot_position, m.snapshot_bytes,
                                          m.snapshot_checksum);
    }
    fail("unknown StreamMessage type");
}

void check_entry(const Entry& e) {
    check(e.index >= 1 && e.term >= 1, "decoded an entry with index or term below 1");
    Entry back = entry_from_json(json::parse(json::serialize(entry_to_json(e))));
    check(same_entry(back, e), "an entry changed through entry_to_json / entry_from_json");
    completes_or_rejects("decode_statements(entry.body)", [&] { decode_statements(e.body); });
    check(chain_hash(e.hash, e) == chain_hash(e.hash, back), "chain_hash is not deterministic");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string text = as_text(data, size);

    StreamMessage m;
    if (completes_or_rejects("decode_stream_message", [&] { m = decode_stream_message(text); })) {
        for (const Entry& e : m.entries) check_entry(e);
        const std::string frame = encode(m);
        StreamMessage again;
        check(completes_or_rejects("decode_stream_message(encode(message))",
                                   [&] { again = decode_stream_message(frame); }),
              "a re-encoded message does not decode", frame);
        check(same_message(again, m), "a message changed through encode / decode", frame);
        check(encode(again) == frame, "encode(decode(frame)) is not a fixed point", frame);
    }

    int64_t applied = -1;
    if (completes_or_rejects("decode_stream_ack", [&] { applied = decode_stream_ack(text); })) {
        check(applied >= 0, "decoded a negative ack");
        check(decode_stream_ack(encode_stream_ack(applied)) == applied, "ack round trip");
    }
    return 0;
}
