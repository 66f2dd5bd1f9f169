#include "shared/archive_format.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include <xxhash.h>
#include <boost/json.hpp>

#include "shared/compression.hpp"
#include "shared/error.hpp"

namespace sqlrep {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kMagic = "sqlrep-archive 1\n";
constexpr int kIndexDigits = 12;

std::string padded(int64_t index) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*lld", kIndexDigits, static_cast<long long>(index));
    return buf;
}

// Digits only, as archive_file_name writes them.
std::optional<int64_t> parse_index(std::string_view s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

class Xxh128 {
  public:
    Xxh128() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }
    ~Xxh128() { XXH3_freeState(state_); }
    Xxh128(const Xxh128&) = delete;
    Xxh128& operator=(const Xxh128&) = delete;
    void update(std::string_view s) { XXH3_128bits_update(state_, s.data(), s.size()); }
    std::string hex() const {
        XXH128_canonical_t canonical;
        XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_));
        Hash h;
        std::copy(std::begin(canonical.digest), std::end(canonical.digest), h.begin());
        return to_hex(h);
    }

  private:
    XXH3_state_t* state_;
};

std::string header_checksum(std::string_view text) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx",
                  static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
    return buf;
}

const char* kind_name(ArchiveKind kind) { return kind == ArchiveKind::log ? "log" : "snapshot"; }

// magic, the header as one line of JSON, its XXH3-64, then newlines up to kHeaderBytes.
std::string encode_header(const ArchiveHeader& h) {
    json::object o{{"kind", kind_name(h.kind)},
                   {"first", h.first},
                   {"last", h.last},
                   {"previous_hash", to_hex(h.previous_hash)},
                   {"last_hash", to_hex(h.last_hash)},
                   {"first_time_ms", h.first_time_ms},
                   {"last_time_ms", h.last_time_ms},
                   {"term", h.term},
                   {"compression", "zstd"},
                   {"content_bytes", h.content_bytes},
                   {"raw_bytes", h.raw_bytes},
                   {"content_checksum", h.content_checksum}};
    std::string line = json::serialize(o);
    std::string out = std::string(kMagic) + line + "\n" + header_checksum(line) + "\n";
    if (out.size() > kHeaderBytes) throw Error(ErrorKind::internal, "archive header too long");
    out.resize(kHeaderBytes, '\n');
    return out;
}

[[noreturn]] void damaged(const fs::path& path, const std::string& why) {
    throw Error(ErrorKind::bad_request,
                "archive file " + path.filename().string() + " is damaged: " + why);
}

void write_all(int fd, std::string_view data, const fs::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(ErrorKind::internal,
                        "cannot write " + path.string() + ": " + std::strerror(errno));
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void fsync_path(const fs::path& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0)
        throw Error(ErrorKind::internal,
                    "cannot open " + path.string() + ": " + std::strerror(errno));
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0)
        throw Error(ErrorKind::internal,
                    "cannot fsync " + path.string() + ": " + std::strerror(err));
}

}  // namespace

std::string archive_file_name(const ArchiveHeader& header) {
    if (header.kind == ArchiveKind::snapshot) return "snapshot-" + padded(header.last) + ".db.zst";
    return "log-" + padded(header.first) + "-" + padded(header.last) + ".zst";
}

std::optional<ArchiveName> parse_archive_name(const std::string& name) {
    auto ends_with = [&](std::string_view suffix) {
        return name.size() > suffix.size() &&
               name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (name.rfind("snapshot-", 0) == 0 && ends_with(".db.zst")) {
        auto index = parse_index(std::string_view(name).substr(9, name.size() - 9 - 7));
        if (!index) return std::nullopt;
        return ArchiveName{ArchiveKind::snapshot, *index, *index, name};
    }
    if (name.rfind("log-", 0) == 0 && ends_with(".zst")) {
        std::string_view range = std::string_view(name).substr(4, name.size() - 4 - 4);
        auto dash = range.find('-');
        if (dash == std::string_view::npos) return std::nullopt;
        auto first = parse_index(range.substr(0, dash));
        auto last = parse_index(range.substr(dash + 1));
        if (!first || !last || *first > *last || *first < 1) return std::nullopt;
        return ArchiveName{ArchiveKind::log, *first, *last, name};
    }
    return std::nullopt;
}

std::vector<ArchiveName> list_archive(const fs::path& dir) {
    std::vector<ArchiveName> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        if (auto name = parse_archive_name(it->path().filename().string())) out.push_back(*name);
    }
    if (ec) throw Error(ErrorKind::internal, "cannot list " + dir.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(), [](const ArchiveName& a, const ArchiveName& b) {
        if (a.last != b.last) return a.last < b.last;
        if (a.kind != b.kind) return a.kind == ArchiveKind::snapshot;
        return a.first < b.first;
    });
    return out;
}

fs::path write_archive_file(const fs::path& dir, ArchiveHeader& header,
                            const std::function<void(const RawSink&)>& fill) {
    std::random_device random;
    fs::path final_path = dir / archive_file_name(header);
    fs::path temp = dir / (".tmp-" + std::to_string(random()) + "-" + archive_file_name(header));
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(ErrorKind::internal,
                    "cannot create " + temp.string() + ": " + std::strerror(errno));
    try {
        // Room for the header first; it is written once the content's size and checksum
        // are known.
        write_all(fd, std::string(kHeaderBytes, '\n'), temp);
        Compressor compressor(Codec::zstd);
        Xxh128 checksum;
        uint64_t raw = 0, compressed = 0;
        ChunkSink out = [&](std::string_view piece) {
            checksum.update(piece);
            compressed += piece.size();
            write_all(fd, piece, temp);
        };
        fill([&](std::string_view data) {
            raw += data.size();
            compressor.write(data, out);
        });
        compressor.finish(out);
        header.raw_bytes = raw;
        header.content_bytes = compressed;
        header.content_checksum = checksum.hex();
        std::string head = encode_header(header);
        if (::pwrite(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size()))
            throw Error(ErrorKind::internal,
                        "cannot write " + temp.string() + ": " + std::strerror(errno));
        if (::fsync(fd) != 0)
            throw Error(ErrorKind::internal,
                        "cannot fsync " + temp.string() + ": " + std::strerror(errno));
        ::close(fd);
        fd = -1;
        fs::rename(temp, final_path);
        fsync_path(dir, O_RDONLY | O_DIRECTORY);
    } catch (...) {
        if (fd >= 0) ::close(fd);
        std::error_code ignored;
        fs::remove(temp, ignored);
        throw;
    }
    return final_path;
}

ArchiveHeader read_archive_header(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) damaged(path, "cannot be read");
    std::string block(kHeaderBytes, '\0');
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    if (static_cast<std::size_t>(in.gcount()) != kHeaderBytes)
        damaged(path, "shorter than its header (truncated)");
    if (block.compare(0, kMagic.size(), kMagic) != 0) damaged(path, "not an sqlrep archive file");
    std::size_t line_end = block.find('\n', kMagic.size());
    std::size_t sum_end =
        line_end == std::string::npos ? std::string::npos : block.find('\n', line_end + 1);
    if (sum_end == std::string::npos) damaged(path, "its header is malformed");
    std::string line = block.substr(kMagic.size(), line_end - kMagic.size());
    if (block.substr(line_end + 1, sum_end - line_end - 1) != header_checksum(line))
        damaged(path, "its header does not match its checksum");

    ArchiveHeader h;
    try {
        json::object o = json::parse(line).as_object();
        std::string kind(o.at("kind").as_string());
        if (kind != "log" && kind != "snapshot") damaged(path, "unknown kind " + kind);
        h.kind = kind == "log" ? ArchiveKind::log : ArchiveKind::snapshot;
        h.first = o.at("first").to_number<int64_t>();
        h.last = o.at("last").to_number<int64_t>();
        h.previous_hash = hash_from_hex(std::string(o.at("previous_hash").as_string()));
        h.last_hash = hash_from_hex(std::string(o.at("last_hash").as_string()));
        h.first_time_ms = o.at("first_time_ms").to_number<int64_t>();
        h.last_time_ms = o.at("last_time_ms").to_number<int64_t>();
        h.term = o.at("term").to_number<int64_t>();
        if (o.at("compression").as_string() != "zstd")
            damaged(path, "unknown compression " + json::serialize(o.at("compression")));
        h.content_bytes = o.at("content_bytes").to_number<uint64_t>();
        h.raw_bytes = o.at("raw_bytes").to_number<uint64_t>();
        h.content_checksum = std::string(o.at("content_checksum").as_string());
    } catch (const Error& e) {
        if (std::string(e.what()).find(path.filename().string()) != std::string::npos) throw;
        damaged(path, std::string("its header is malformed: ") + e.what());
    } catch (const std::exception& e) {
        damaged(path, std::string("its header is malformed: ") + e.what());
    }

    auto name = parse_archive_name(path.filename().string());
    if (!name || name->kind != h.kind || name->first != h.first || name->last != h.last)
        damaged(path, "its header does not match its name");
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) damaged(path, "cannot be sized: " + ec.message());
    if (size < kHeaderBytes + h.content_bytes)
        damaged(path, "truncated: " + std::to_string(size) + " bytes, the header says " +
                          std::to_string(kHeaderBytes + h.content_bytes));
    if (size > kHeaderBytes + h.content_bytes)
        damaged(path, "longer than its header says (" + std::to_string(size) + " bytes, not " +
                          std::to_string(kHeaderBytes + h.content_bytes) + ")");
    return h;
}

void read_archive_content(const fs::path& path, const ArchiveHeader& header, const RawSink& sink) {
    std::vector<char> chunk(1 << 20);
    auto pass = [&](const std::function<void(std::string_view)>& each) {
        std::ifstream in(path, std::ios::binary);
        if (!in) damaged(path, "cannot be read");
        in.seekg(static_cast<std::streamoff>(kHeaderBytes));
        uint64_t left = header.content_bytes;
        while (left > 0) {
            auto want = static_cast<std::streamsize>(std::min<uint64_t>(left, chunk.size()));
            in.read(chunk.data(), want);
            if (in.gcount() != want) damaged(path, "truncated while reading");
            each(std::string_view(chunk.data(), static_cast<std::size_t>(want)));
            left -= static_cast<uint64_t>(want);
        }
    };
    // First the checksum over all of it, so nothing damaged is ever applied; then the
    // content itself (a second read: a snapshot may be far larger than memory).
    Xxh128 checksum;
    pass([&](std::string_view piece) { checksum.update(piece); });
    if (checksum.hex() != header.content_checksum)
        damaged(path, "its content does not match its checksum (a flipped or lost byte)");
    Decompressor decompressor(Codec::zstd, header.raw_bytes);
    try {
        pass([&](std::string_view piece) { decompressor.write(piece, sink); });
        decompressor.finish();
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::bad_request && e.kind() != ErrorKind::too_large) throw;
        damaged(path, std::string("its content does not decompress: ") + e.what());
    }
    if (decompressor.total_out() != header.raw_bytes)
        damaged(path, "its content decompresses to " + std::to_string(decompressor.total_out()) +
                          " bytes, not " + std::to_string(header.raw_bytes));
}

namespace {

template <typename T>
void put(std::string& out, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i)
        out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

class Reader {
  public:
    explicit Reader(std::string_view data) : data_(data) {}
    bool done() const { return data_.empty(); }
    template <typename T>
    T get() {
        std::string_view b = bytes(sizeof(T));
        uint64_t v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i)
            v |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
        return static_cast<T>(v);
    }
    std::string_view bytes(std::size_t n) {
        if (n > data_.size()) throw Error(ErrorKind::bad_request, "a segment entry is cut short");
        std::string_view out = data_.substr(0, n);
        data_.remove_prefix(n);
        return out;
    }

  private:
    std::string_view data_;
};

}  // namespace

void encode_segment_entry(const Entry& entry, std::string& out) {
    put<uint64_t>(out, static_cast<uint64_t>(entry.index));
    put<uint64_t>(out, static_cast<uint64_t>(entry.term));
    put<uint64_t>(out, static_cast<uint64_t>(entry.time_ms));
    out.append(reinterpret_cast<const char*>(entry.hash.data()), entry.hash.size());
    put<uint16_t>(out, static_cast<uint16_t>(entry.request_id.size()));
    out += entry.request_id;
    put<uint32_t>(out, static_cast<uint32_t>(entry.body.size()));
    out += entry.body;
}

std::vector<Entry> decode_segment(std::string_view content) {
    std::vector<Entry> out;
    Reader r(content);
    while (!r.done()) {
        Entry e;
        e.index = static_cast<int64_t>(r.get<uint64_t>());
        e.term = static_cast<int64_t>(r.get<uint64_t>());
        e.time_ms = static_cast<int64_t>(r.get<uint64_t>());
        std::string_view hash = r.bytes(e.hash.size());
        std::copy(hash.begin(), hash.end(), e.hash.begin());
        e.request_id = std::string(r.bytes(r.get<uint16_t>()));
        e.body = std::string(r.bytes(r.get<uint32_t>()));
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace sqlrep
