#include "shared/stream_messages.hpp"

#include "shared/error.hpp"

namespace sqlrep {
namespace {

// `storage` holds everything parsed; the result must not outlive it.
json::object parse_message(std::string_view text, json::storage_ptr storage = {}) {
    json::parse_options options;
    options.max_depth = 8;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec, std::move(storage), options);
    if (ec || !v.is_object())
        throw Error(ErrorKind::bad_request, "stream message is not a JSON object");
    const json::value* type = v.get_object().if_contains("type");
    if (type == nullptr || !type->is_string())
        throw Error(ErrorKind::bad_request, "stream message has no type");
    return std::move(v.get_object());
}

int64_t require_index(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_int64() || v->get_int64() < 0)
        throw Error(ErrorKind::bad_request,
                    std::string("stream message needs a non-negative '") + name + "'");
    return v->get_int64();
}

}  // namespace

std::string encode_stream_entries(const std::vector<Entry>& entries) {
    json::array list;
    list.reserve(entries.size());
    for (const auto& e : entries) list.push_back(entry_to_json(e));
    return json::serialize(json::object{{"type", "entries"}, {"entries", std::move(list)}});
}

std::string encode_stream_entry(const Entry& entry) {
    return json::serialize(entry_to_json(entry));
}

std::string join_stream_entries(const std::vector<const std::string*>& encoded) {
    static constexpr std::string_view kHead = R"({"type":"entries","entries":[)";
    static constexpr std::string_view kTail = "]}";
    std::size_t size = kHead.size() + kTail.size() + encoded.size();
    for (const std::string* e : encoded) size += e->size();
    std::string out;
    out.reserve(size);
    out += kHead;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (i > 0) out += ',';
        out += *encoded[i];
    }
    out += kTail;
    return out;
}

std::string encode_stream_heartbeat(int64_t commit_index) {
    return json::serialize(json::object{{"type", "heartbeat"}, {"commit_index", commit_index}});
}

std::string encode_stream_error(const std::string& problem) {
    return json::serialize(json::object{{"type", "error"}, {"error", problem}});
}

std::string encode_stream_snapshot(const LogPosition& position, uint64_t bytes,
                                   const std::string& checksum) {
    return json::serialize(json::object{{"type", "snapshot"},
                                        {"index", position.index},
                                        {"term", position.term},
                                        {"hash", to_hex(position.hash)},
                                        {"bytes", bytes},
                                        {"checksum", checksum}});
}

StreamMessage decode_stream_message(std::string_view text) {
    // A batch is thousands of small values, all dropped at the end of this call: carve
    // them from a few large blocks instead of one malloc and free each.
    json::monotonic_resource arena(text.size() * 2 + 4096);
    json::object o = parse_message(text, &arena);
    std::string_view type = o.at("type").get_string();
    StreamMessage m;
    if (type == "entries") {
        m.type = StreamMessage::Type::entries;
        const json::value* list = o.if_contains("entries");
        if (list == nullptr || !list->is_array() || list->get_array().empty())
            throw Error(ErrorKind::bad_request, "an entries message needs a non-empty list");
        for (const auto& item : list->get_array()) m.entries.push_back(entry_from_json(item));
    } else if (type == "heartbeat") {
        m.type = StreamMessage::Type::heartbeat;
        m.commit_index = require_index(o, "commit_index");
    } else if (type == "error") {
        m.type = StreamMessage::Type::error;
        const json::value* error = o.if_contains("error");
        m.error = error && error->is_string() ? std::string(error->get_string()) : "unknown error";
    } else if (type == "snapshot") {
        m.type = StreamMessage::Type::snapshot;
        m.snapshot_position.index = require_index(o, "index");
        m.snapshot_position.term = require_index(o, "term");
        m.snapshot_bytes = static_cast<uint64_t>(require_index(o, "bytes"));
        const json::value* hash = o.if_contains("hash");
        const json::value* checksum = o.if_contains("checksum");
        if (!hash || !hash->is_string() || !checksum || !checksum->is_string())
            throw Error(ErrorKind::bad_request, "a snapshot message needs hash and checksum");
        m.snapshot_position.hash = hash_from_hex(std::string(hash->get_string()));
        m.snapshot_checksum = std::string(checksum->get_string());
    } else {
        throw Error(ErrorKind::bad_request, "unknown stream message type");
    }
    return m;
}

std::string encode_stream_ack(int64_t applied_index) {
    return json::serialize(json::object{{"type", "ack"}, {"applied", applied_index}});
}

int64_t decode_stream_ack(std::string_view text) {
    json::object o = parse_message(text);
    if (o.at("type").get_string() != "ack")
        throw Error(ErrorKind::bad_request, "a replica sends only ack messages");
    return require_index(o, "applied");
}

}  // namespace sqlrep
