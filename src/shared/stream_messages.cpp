#include "shared/stream_messages.hpp"

#include <charconv>
#include <cstring>
#include <limits>
#include <type_traits>

#include "shared/connection.hpp"
#include "shared/error.hpp"

namespace sqlrep {
namespace {

// An entries frame: this tag, then one record per entry, each kRecordHead bytes of
// index, term, time_ms (int64 little-endian), hash (16 bytes), request_id size (uint16
// little-endian, 0 for none) and body size (uint32 little-endian), then the request_id's
// bytes, then the body's bytes.
constexpr std::string_view kEntriesTag = "SRE3";
constexpr std::size_t kRecordHead = 3 * 8 + 16 + 2 + 4;

template <typename Int>
void put_le(std::string& out, Int value) {
    auto bits = static_cast<std::make_unsigned_t<Int>>(value);
    for (std::size_t i = 0; i < sizeof(Int); ++i)
        out.push_back(static_cast<char>(static_cast<uint8_t>(bits >> (8 * i))));
}

template <typename Int>
Int get_le(const char* in) {
    std::make_unsigned_t<Int> bits = 0;
    for (std::size_t i = 0; i < sizeof(Int); ++i)
        bits |= static_cast<std::make_unsigned_t<Int>>(static_cast<uint8_t>(in[i])) << (8 * i);
    return static_cast<Int>(bits);
}

// An entry's body is a column of its log row, written before the entry is streamed, so
// SQLite's length limit on every connection bounds it far below what 32 bits can say.
static_assert(kMaxValueBytes <= std::numeric_limits<uint32_t>::max());
static_assert(kMaxRequestIdBytes <= std::numeric_limits<uint16_t>::max());

void append_record(std::string& out, const Entry& e) {
    put_le(out, e.index);
    put_le(out, e.term);
    put_le(out, e.time_ms);
    out.append(reinterpret_cast<const char*>(e.hash.data()), e.hash.size());
    put_le(out, static_cast<uint16_t>(e.request_id.size()));
    put_le(out, static_cast<uint32_t>(e.body.size()));
    out += e.request_id;
    out += e.body;
}

json::object parse_message(std::string_view text) {
    json::parse_options options;
    options.max_depth = 8;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec, {}, options);
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

// Query-string value of `key` in a target like "/path?a=1&b=2", or nullopt.
std::optional<std::string_view> query_param(std::string_view target, std::string_view key) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == key) return pair.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        rest = rest.substr(amp + 1);
    }
    return std::nullopt;
}

int64_t require_int(std::string_view target, std::string_view key, int64_t min) {
    std::optional<std::string_view> text = query_param(target, key);
    int64_t value = 0;
    if (!text)
        throw Error(ErrorKind::bad_request, "the stream handshake needs " + std::string(key));
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || value < min)
        throw Error(ErrorKind::bad_request, "the stream handshake's " + std::string(key) +
                                                " must be an integer of at least " +
                                                std::to_string(min));
    return value;
}

// A URL travels in a query string: only the characters a node's advertised URL has.
bool plain_url(std::string_view url) {
    for (char c : url)
        if (!std::isalnum(static_cast<unsigned char>(c)) &&
            std::string_view(":/.-_[]").find(c) == std::string_view::npos)
            return false;
    return url.size() <= 256;
}

constexpr std::pair<StreamRefusal, const char*> kRefusalNames[] = {
    {StreamRefusal::diverged, "diverged"},
    {StreamRefusal::master_behind, "master_behind"},
    {StreamRefusal::stale_term, "stale_term"},
    {StreamRefusal::other, "other"},
};

}  // namespace

const char* stream_refusal_name(StreamRefusal kind) {
    for (auto [k, name] : kRefusalNames)
        if (k == kind) return name;
    return "other";
}

std::string encode_stream_hello(const StreamHello& hello) {
    std::string target(kStreamPath);
    auto add = [&target](std::string_view key, std::string_view value) {
        target += target.size() == kStreamPath.size() ? '?' : '&';
        target += key;
        target += '=';
        target += value;
    };
    add("node_id", std::to_string(hello.node_id));
    add("from", std::to_string(hello.from));
    add("last_term", std::to_string(hello.last_term));
    add("term", std::to_string(hello.term));
    add("proto", std::to_string(hello.proto));
    if (hello.hash) add("hash", to_hex(*hello.hash));
    if (!hello.url.empty()) add("url", hello.url);
    if (hello.wants_snapshot) add("snapshot", "1");
    return target;
}

StreamHello decode_stream_hello(std::string_view target) {
    if (target.substr(0, target.find('?')) != kStreamPath)
        throw Error(ErrorKind::bad_request,
                    "the stream handshake goes to " + std::string(kStreamPath));
    StreamHello hello;
    // Nodes before the version existed sent none: protocol 1.
    hello.proto = !query_param(target, "proto")
                      ? 1
                      : static_cast<int>(std::min<int64_t>(require_int(target, "proto", 0),
                                                           std::numeric_limits<int>::max()));
    if (hello.proto != kStreamProtocol) {
        // The caller refuses it by name; older versions said replica_id.
        std::string_view id = query_param(target, "node_id")
                                  .value_or(query_param(target, "replica_id").value_or("?"));
        std::from_chars(id.data(), id.data() + id.size(), hello.node_id);
        return hello;
    }
    hello.node_id = static_cast<int>(std::min<int64_t>(require_int(target, "node_id", 0), 1 << 20));
    hello.from = require_int(target, "from", 0);
    hello.last_term = require_int(target, "last_term", 0);
    hello.term = require_int(target, "term", 0);
    if (hello.last_term > hello.term)
        throw Error(ErrorKind::bad_request, "the stream handshake's last_term exceeds its term");
    if (auto hash = query_param(target, "hash")) hello.hash = hash_from_hex(std::string(*hash));
    if (hello.from > 0 && !hello.hash)
        throw Error(ErrorKind::bad_request, "the stream handshake needs the hash at from");
    if (auto url = query_param(target, "url")) {
        if (!plain_url(*url))
            throw Error(ErrorKind::bad_request, "the stream handshake's url is not a plain URL");
        hello.url = std::string(*url);
    }
    if (auto snapshot = query_param(target, "snapshot")) hello.wants_snapshot = *snapshot == "1";
    return hello;
}

std::string stream_protocol_mismatch(const std::string& them, std::string_view theirs,
                                     const std::string& us) {
    return them + " speaks stream protocol " + std::string(theirs.empty() ? "1" : theirs) + ", " +
           us + " " + std::to_string(kStreamProtocol) +
           ": run the same sqlrep version on every node";
}

std::string encode_stream_entries(const std::vector<Entry>& entries) {
    std::size_t size = kEntriesTag.size();
    for (const Entry& e : entries) size += kRecordHead + e.request_id.size() + e.body.size();
    std::string out;
    out.reserve(size);
    out += kEntriesTag;
    for (const Entry& e : entries) append_record(out, e);
    return out;
}

std::string encode_stream_entry(const Entry& entry) {
    std::string out;
    out.reserve(kRecordHead + entry.request_id.size() + entry.body.size());
    append_record(out, entry);
    return out;
}

std::string join_stream_entries(const std::vector<const std::string*>& encoded) {
    std::size_t size = kEntriesTag.size();
    for (const std::string* e : encoded) size += e->size();
    std::string out;
    out.reserve(size);
    out += kEntriesTag;
    for (const std::string* e : encoded) out += *e;
    return out;
}

std::vector<Entry> decode_stream_entries(std::string_view frame) {
    if (frame.substr(0, kEntriesTag.size()) != kEntriesTag)
        throw Error(ErrorKind::bad_request,
                    "an entries frame starts with " + std::string(kEntriesTag));
    std::vector<Entry> entries;
    std::size_t at = kEntriesTag.size();
    while (at < frame.size()) {
        if (frame.size() - at < kRecordHead)
            throw Error(ErrorKind::bad_request, "an entries frame ends inside an entry");
        const char* head = frame.data() + at;
        Entry e;
        e.index = get_le<int64_t>(head);
        e.term = get_le<int64_t>(head + 8);
        e.time_ms = get_le<int64_t>(head + 16);
        std::memcpy(e.hash.data(), head + 24, e.hash.size());
        uint16_t id_size = get_le<uint16_t>(head + 40);
        uint32_t body_size = get_le<uint32_t>(head + 42);
        at += kRecordHead;
        if (frame.size() - at < id_size)
            throw Error(ErrorKind::bad_request,
                        "an entries frame ends inside an entry's request_id");
        e.request_id.assign(frame.data() + at, id_size);
        at += id_size;
        if (frame.size() - at < body_size)
            throw Error(ErrorKind::bad_request, "an entries frame ends inside an entry's body");
        if (e.index < 1 || e.term < 1)
            throw Error(ErrorKind::bad_request, "entry index and term start at 1");
        if (id_size > 0 && !valid_request_id(e.request_id))
            throw Error(ErrorKind::bad_request,
                        "an entry's request_id is not 1 to 128 printable ASCII characters");
        e.body.assign(frame.data() + at, body_size);
        at += body_size;
        entries.push_back(std::move(e));
    }
    if (entries.empty()) throw Error(ErrorKind::bad_request, "an entries frame holds no entry");
    return entries;
}

std::string encode_stream_heartbeat(int64_t commit_index) {
    return json::serialize(json::object{{"type", "heartbeat"}, {"commit_index", commit_index}});
}

std::string encode_stream_error(StreamRefusal kind, const std::string& problem) {
    return json::serialize(
        json::object{{"type", "error"}, {"kind", stream_refusal_name(kind)}, {"error", problem}});
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
    json::object o = parse_message(text);
    std::string_view type = o.at("type").get_string();
    StreamMessage m;
    if (type == "heartbeat") {
        m.type = StreamMessage::Type::heartbeat;
        m.commit_index = require_index(o, "commit_index");
    } else if (type == "error") {
        m.type = StreamMessage::Type::error;
        const json::value* error = o.if_contains("error");
        m.error = error && error->is_string() ? std::string(error->get_string()) : "unknown error";
        const json::value* kind = o.if_contains("kind");
        if (kind != nullptr && kind->is_string())
            for (auto [k, name] : kRefusalNames)
                if (kind->get_string() == name) m.refusal = k;
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
