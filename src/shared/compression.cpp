#include "shared/compression.hpp"

#include <array>

#include <zlib.h>
#include <zstd.h>

#include "shared/error.hpp"

namespace sqlrep {

std::optional<Codec> codec_from_name(std::string_view name) {
    if (name == "none" || name == "identity") return Codec::none;
    if (name == "gzip" || name == "gz") return Codec::gzip;
    if (name == "zstd" || name == "zst") return Codec::zstd;
    return std::nullopt;
}

const char* codec_name(Codec codec) {
    switch (codec) {
        case Codec::gzip:
            return "gzip";
        case Codec::zstd:
            return "zstd";
        case Codec::none:
            break;
    }
    return "none";
}

const char* codec_content_encoding(Codec codec) {
    return codec == Codec::none ? "identity" : codec_name(codec);
}

const char* codec_file_suffix(Codec codec) {
    switch (codec) {
        case Codec::gzip:
            return ".gz";
        case Codec::zstd:
            return ".zst";
        case Codec::none:
            break;
    }
    return "";
}

Codec codec_from_magic(std::string_view head) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(head[i]); };
    if (head.size() >= 2 && byte(0) == 0x1f && byte(1) == 0x8b) return Codec::gzip;
    if (head.size() >= 4 && byte(0) == 0x28 && byte(1) == 0xb5 && byte(2) == 0x2f &&
        byte(3) == 0xfd)
        return Codec::zstd;
    return Codec::none;
}

// ---- compression -------------------------------------------------------------------

// One codec's stream state. `last` ends the stream after consuming `in`.
class Compressor::Engine {
  public:
    virtual ~Engine() = default;
    virtual void run(std::string_view in, bool last, const ChunkSink& sink) = 0;
};

namespace {

class PlainCompressor final : public Compressor::Engine {
  public:
    void run(std::string_view in, bool, const ChunkSink& sink) override {
        for (std::size_t at = 0; at < in.size(); at += Compressor::kChunkBytes)
            sink(in.substr(at, Compressor::kChunkBytes));
    }
};

class ZstdCompressor final : public Compressor::Engine {
  public:
    explicit ZstdCompressor(int level) : ctx_(ZSTD_createCCtx()) {
        if (!ctx_) throw Error(ErrorKind::internal, "zstd: out of memory");
        if (level == 0) level = ZSTD_CLEVEL_DEFAULT;
        if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
            ZSTD_freeCCtx(ctx_);
            throw Error(ErrorKind::bad_request, "zstd level must be between " +
                                                    std::to_string(ZSTD_minCLevel()) + " and " +
                                                    std::to_string(ZSTD_maxCLevel()));
        }
        ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
    }
    ~ZstdCompressor() override { ZSTD_freeCCtx(ctx_); }

    void run(std::string_view in, bool last, const ChunkSink& sink) override {
        ZSTD_inBuffer input{in.data(), in.size(), 0};
        ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
        for (;;) {
            ZSTD_outBuffer output{buffer_.data(), buffer_.size(), 0};
            std::size_t remaining = ZSTD_compressStream2(ctx_, &output, &input, mode);
            if (ZSTD_isError(remaining))
                throw Error(ErrorKind::internal,
                            std::string("zstd: ") + ZSTD_getErrorName(remaining));
            if (output.pos > 0) sink(std::string_view(buffer_.data(), output.pos));
            // Done when the input is consumed and, at the end, the frame is flushed.
            bool flushed = last ? remaining == 0 : input.pos == input.size;
            if (flushed) return;
        }
    }

  private:
    ZSTD_CCtx* ctx_;
    std::array<char, Compressor::kChunkBytes> buffer_{};
};

class GzipCompressor final : public Compressor::Engine {
  public:
    explicit GzipCompressor(int level) {
        if (level == 0) level = Z_DEFAULT_COMPRESSION;
        if (level != Z_DEFAULT_COMPRESSION && (level < 1 || level > 9))
            throw Error(ErrorKind::bad_request, "gzip level must be between 1 and 9");
        // windowBits 15 + 16: a gzip header and trailer rather than a raw zlib stream.
        if (deflateInit2(&stream_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw Error(ErrorKind::internal, "zlib: deflateInit2 failed");
    }
    ~GzipCompressor() override { deflateEnd(&stream_); }

    void run(std::string_view in, bool last, const ChunkSink& sink) override {
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        stream_.avail_in = static_cast<uInt>(in.size());
        int flush = last ? Z_FINISH : Z_NO_FLUSH;
        for (;;) {
            stream_.next_out = reinterpret_cast<Bytef*>(buffer_.data());
            stream_.avail_out = static_cast<uInt>(buffer_.size());
            int rc = deflate(&stream_, flush);
            if (rc == Z_STREAM_ERROR) throw Error(ErrorKind::internal, "zlib: deflate failed");
            std::size_t produced = buffer_.size() - stream_.avail_out;
            if (produced > 0) sink(std::string_view(buffer_.data(), produced));
            if (last ? rc == Z_STREAM_END : (stream_.avail_in == 0 && stream_.avail_out != 0))
                return;
        }
    }

  private:
    z_stream stream_{};
    std::array<char, Compressor::kChunkBytes> buffer_{};
};

}  // namespace

Compressor::Compressor(Codec codec, int level) : codec_(codec) {
    switch (codec) {
        case Codec::none:
            engine_ = std::make_unique<PlainCompressor>();
            break;
        case Codec::zstd:
            engine_ = std::make_unique<ZstdCompressor>(level);
            break;
        case Codec::gzip:
            engine_ = std::make_unique<GzipCompressor>(level);
            break;
    }
}

Compressor::~Compressor() = default;

void Compressor::write(std::string_view in, const ChunkSink& sink) {
    // zlib counts input in 32-bit units; feed very large views in slices.
    constexpr std::size_t kSlice = std::size_t{1} << 30;
    for (std::size_t at = 0; at < in.size(); at += kSlice)
        engine_->run(in.substr(at, kSlice), false, sink);
}

void Compressor::finish(const ChunkSink& sink) { engine_->run({}, true, sink); }

void Compressor::write(std::string_view in, std::string& out) {
    write(in, [&](std::string_view piece) { out.append(piece); });
}

void Compressor::finish(std::string& out) {
    finish([&](std::string_view piece) { out.append(piece); });
}

// ---- decompression -----------------------------------------------------------------

class Decompressor::Engine {
  public:
    virtual ~Engine() = default;
    virtual void run(std::string_view in, const ChunkSink& sink) = 0;
    // True when every frame begun has ended and at least one was seen.
    virtual bool complete() const = 0;
};

namespace {

class PlainDecompressor final : public Decompressor::Engine {
  public:
    void run(std::string_view in, const ChunkSink& sink) override {
        for (std::size_t at = 0; at < in.size(); at += Decompressor::kChunkBytes)
            sink(in.substr(at, Decompressor::kChunkBytes));
    }
    bool complete() const override { return true; }
};

class ZstdDecompressor final : public Decompressor::Engine {
  public:
    ZstdDecompressor() : ctx_(ZSTD_createDCtx()) {
        if (!ctx_) throw Error(ErrorKind::internal, "zstd: out of memory");
    }
    ~ZstdDecompressor() override { ZSTD_freeDCtx(ctx_); }

    void run(std::string_view in, const ChunkSink& sink) override {
        ZSTD_inBuffer input{in.data(), in.size(), 0};
        for (;;) {
            ZSTD_outBuffer output{buffer_.data(), buffer_.size(), 0};
            std::size_t consumed_before = input.pos;
            std::size_t hint = ZSTD_decompressStream(ctx_, &output, &input);
            if (ZSTD_isError(hint))
                throw Error(ErrorKind::bad_request,
                            std::string("not a valid zstd stream: ") + ZSTD_getErrorName(hint));
            if (output.pos > 0) sink(std::string_view(buffer_.data(), output.pos));
            // A call that moved nothing only says it waits for a next frame's header.
            if (input.pos > consumed_before || output.pos > 0) {
                seen_ = true;
                frame_done_ = hint == 0;
            }
            // A full output buffer may hide more output even with the input consumed.
            if (input.pos == input.size && output.pos < output.size) return;
        }
    }
    bool complete() const override { return seen_ && frame_done_; }

  private:
    ZSTD_DCtx* ctx_;
    bool seen_ = false;
    bool frame_done_ = true;
    std::array<char, Decompressor::kChunkBytes> buffer_{};
};

class GzipDecompressor final : public Decompressor::Engine {
  public:
    GzipDecompressor() {
        if (inflateInit2(&stream_, 15 + 16) != Z_OK)
            throw Error(ErrorKind::internal, "zlib: inflateInit2 failed");
    }
    ~GzipDecompressor() override { inflateEnd(&stream_); }

    void run(std::string_view in, const ChunkSink& sink) override {
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        stream_.avail_in = static_cast<uInt>(in.size());
        while (stream_.avail_in > 0 || in_member_) {
            stream_.next_out = reinterpret_cast<Bytef*>(buffer_.data());
            stream_.avail_out = static_cast<uInt>(buffer_.size());
            int rc = inflate(&stream_, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                throw Error(ErrorKind::bad_request,
                            std::string("not a valid gzip stream: ") +
                                (stream_.msg ? stream_.msg : "inflate failed"));
            std::size_t produced = buffer_.size() - stream_.avail_out;
            if (produced > 0) sink(std::string_view(buffer_.data(), produced));
            seen_ = true;
            in_member_ = rc != Z_STREAM_END;
            // Concatenated gzip members are one stream (as gunzip reads them).
            if (rc == Z_STREAM_END) inflateReset(&stream_);
            if (stream_.avail_in == 0 && produced < buffer_.size()) return;
        }
    }
    bool complete() const override { return seen_ && !in_member_; }

  private:
    z_stream stream_{};
    bool seen_ = false;
    bool in_member_ = false;
    std::array<char, Decompressor::kChunkBytes> buffer_{};
};

}  // namespace

Decompressor::Decompressor(Codec codec, std::uint64_t max_output)
    : codec_(codec), max_output_(max_output) {
    switch (codec) {
        case Codec::none:
            engine_ = std::make_unique<PlainDecompressor>();
            break;
        case Codec::zstd:
            engine_ = std::make_unique<ZstdDecompressor>();
            break;
        case Codec::gzip:
            engine_ = std::make_unique<GzipDecompressor>();
            break;
    }
}

Decompressor::~Decompressor() = default;

void Decompressor::emit(std::string_view piece, const ChunkSink& sink) {
    if (piece.size() > max_output_ - total_out_)
        throw Error(ErrorKind::too_large, "the decompressed data is over the limit of " +
                                              std::to_string(max_output_) + " bytes");
    total_out_ += piece.size();
    sink(piece);
}

void Decompressor::write(std::string_view in, const ChunkSink& sink) {
    constexpr std::size_t kSlice = std::size_t{1} << 30;
    auto counted = [&](std::string_view piece) { emit(piece, sink); };
    for (std::size_t at = 0; at < in.size(); at += kSlice)
        engine_->run(in.substr(at, kSlice), counted);
}

void Decompressor::write(std::string_view in, std::string& out) {
    write(in, [&](std::string_view piece) { out.append(piece); });
}

void Decompressor::finish() {
    if (!engine_->complete())
        throw Error(ErrorKind::bad_request,
                    std::string("the ") + codec_name(codec_) + " stream is truncated or empty");
}

}  // namespace sqlrep
