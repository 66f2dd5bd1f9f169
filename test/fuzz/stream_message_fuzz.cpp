// libFuzzer target: one frame of the replication stream, as a replica decodes what the
// master sends (decode_stream_entries for a binary frame, decode_stream_message for a
// text one) and as the master decodes a replica's ack (decode_stream_ack). Invariants, for
// any input:
//   - each decoder returns or throws Error(bad_request) (the connection is dropped and the
//     replica resyncs), nothing else;
//   - a decoded message re-encodes to a frame that decodes to the same message, and that
//     frame is a fixed point (encode(decode(frame)) == frame);
//   - an entries frame that decodes is exactly the encoding of its entries (the format has
//     no slack), each entry has index and term >= 1, and its body, the effects the
//     applier will apply, decodes or fails with bad_request only;
//   - a decoded ack is >= 0 and round-trips;
//   - a stream handshake target (the input as it is, and after "/_cluster/stream?")
//     decodes or is rejected with bad_request; one of this protocol version re-encodes to
//     a target that decodes to the same hello.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "shared/effects.hpp"
#include "shared/log_entry.hpp"
#include "shared/stream_messages.hpp"

using namespace sqlrep;
using namespace sqlrep::fuzz;

namespace {

bool same_message(const StreamMessage& a, const StreamMessage& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
        case StreamMessage::Type::heartbeat:
            return a.commit_index == b.commit_index;
        case StreamMessage::Type::error:
            return a.error == b.error && a.refusal == b.refusal;
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
        case StreamMessage::Type::heartbeat:
            return encode_stream_heartbeat(m.commit_index);
        case StreamMessage::Type::error:
            return encode_stream_error(m.refusal, m.error);
        case StreamMessage::Type::snapshot:
            return encode_stream_snapshot(m.snapshot_position, m.snapshot_bytes,
                                          m.snapshot_checksum);
    }
    fail("unknown StreamMessage type");
}

void check_entries_frame(const std::string& frame) {
    std::vector<Entry> entries;
    auto decode = [&] { entries = decode_stream_entries(frame); };
    if (!completes_or_rejects("decode_stream_entries", decode)) return;
    check(!entries.empty(), "decoded an entries frame with no entry");
    check(encode_stream_entries(entries) == frame, "encode(decode(frame)) is not the frame", frame);
    std::vector<std::string> one_by_one;
    std::vector<const std::string*> parts;
    for (const Entry& e : entries) one_by_one.push_back(encode_stream_entry(e));
    for (const std::string& part : one_by_one) parts.push_back(&part);
    check(join_stream_entries(parts) == frame, "entries joined one by one differ", frame);
    for (const Entry& e : entries) {
        check(e.index >= 1 && e.term >= 1, "decoded an entry with index or term below 1");
        completes_or_rejects("decode_effects(entry.body)", [&] { decode_effects(e.body); });
    }
}

bool same_hello(const StreamHello& a, const StreamHello& b) {
    return a.node_id == b.node_id && a.from == b.from && a.hash == b.hash &&
           a.last_term == b.last_term && a.term == b.term && a.url == b.url &&
           a.wants_snapshot == b.wants_snapshot && a.proto == b.proto;
}

void check_hello(const std::string& target) {
    StreamHello hello;
    if (!completes_or_rejects("decode_stream_hello", [&] { hello = decode_stream_hello(target); }))
        return;
    if (hello.proto != kStreamProtocol) return;  // refused by the master, by name
    check(hello.from >= 0 && hello.term >= hello.last_term && hello.last_term >= 0,
          "decoded a hello with a negative index or last_term above term", target);
    const std::string again = encode_stream_hello(hello);
    StreamHello back;
    check(completes_or_rejects("decode_stream_hello(encode(hello))",
                               [&] { back = decode_stream_hello(again); }),
          "a re-encoded hello does not decode", again);
    check(same_hello(back, hello), "a hello changed through encode / decode", again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string text = as_text(data, size);
    check_entries_frame(text);

    StreamMessage m;
    if (completes_or_rejects("decode_stream_message", [&] { m = decode_stream_message(text); })) {
        const std::string frame = encode(m);
        StreamMessage again;
        check(completes_or_rejects("decode_stream_message(encode(message))",
                                   [&] { again = decode_stream_message(frame); }),
              "a re-encoded message does not decode", frame);
        check(same_message(again, m), "a message changed through encode / decode", frame);
        check(encode(again) == frame, "encode(decode(frame)) is not a fixed point", frame);
    }

    check_hello(text);
    check_hello(std::string(kStreamPath) + "?" + text);

    int64_t applied = -1;
    if (completes_or_rejects("decode_stream_ack", [&] { applied = decode_stream_ack(text); })) {
        check(applied >= 0, "decoded a negative ack");
        check(decode_stream_ack(encode_stream_ack(applied)) == applied, "ack round trip");
    }
    return 0;
}
