#pragma once
// Streaming compression for backups and archives: zstd (libzstd) and gzip (zlib), fed in
// chunks so a file of any size passes through in bounded memory. A Compressor or a
// Decompressor is one stream; it is not thread-safe (one caller at a time) and never blocks.
//
// Output goes to a sink in pieces of at most kChunkBytes, or is appended to a string; a
// caller that drains the string after each write keeps memory bounded. A Decompressor can
// cap its total output (a small upload must not inflate to fill the disk).

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sqlrep {

enum class Codec { none, gzip, zstd };

// "none" (or "identity"), "gzip" (or "gz"), "zstd" (or "zst"); anything else is nullopt.
std::optional<Codec> codec_from_name(std::string_view name);
// The canonical name: "none", "gzip", "zstd".
const char* codec_name(Codec codec);
// The HTTP Content-Encoding value ("identity", "gzip", "zstd").
const char* codec_content_encoding(Codec codec);
// The file suffix a compressed file conventionally carries: "", ".gz", ".zst".
const char* codec_file_suffix(Codec codec);
// The codec whose magic number `head` starts with (gzip 1f 8b, zstd 28 b5 2f fd); none
// when neither matches. Needs the first four bytes to tell.
Codec codec_from_magic(std::string_view head);

// Receives output pieces; each view is valid only during the call.
using ChunkSink = std::function<void(std::string_view)>;

class Compressor {
  public:
    static constexpr std::size_t kChunkBytes = 64 * 1024;
    // level 0 takes the codec's default (zstd 3, gzip 6). Throws Error(bad_request) for a
    // level the codec does not accept.
    explicit Compressor(Codec codec, int level = 0);
    ~Compressor();
    Compressor(const Compressor&) = delete;
    Compressor& operator=(const Compressor&) = delete;

    void write(std::string_view in, const ChunkSink& sink);
    // Ends the stream (the codec's trailer); the Compressor is done after it.
    void finish(const ChunkSink& sink);
    // The same, appending to `out`.
    void write(std::string_view in, std::string& out);
    void finish(std::string& out);

    Codec codec() const { return codec_; }

    class Engine;  // one codec's stream state (compression.cpp)

  private:
    Codec codec_;
    std::unique_ptr<Engine> engine_;
};

class Decompressor {
  public:
    static constexpr std::size_t kChunkBytes = 64 * 1024;
    static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
    // Throws Error(too_large) from write once the output would pass max_output bytes.
    explicit Decompressor(Codec codec, std::uint64_t max_output = kUnlimited);
    ~Decompressor();
    Decompressor(const Decompressor&) = delete;
    Decompressor& operator=(const Decompressor&) = delete;

    // Throws Error(bad_request) on input that is not a valid stream of the codec.
    void write(std::string_view in, const ChunkSink& sink);
    void write(std::string_view in, std::string& out);
    // Throws Error(bad_request) when the input ended inside a frame (a truncated stream)
    // or held no frame at all.
    void finish();

    Codec codec() const { return codec_; }
    std::uint64_t total_out() const { return total_out_; }

    class Engine;  // one codec's stream state (compression.cpp)

  private:
    void emit(std::string_view piece, const ChunkSink& sink);
    Codec codec_;
    std::uint64_t max_output_;
    std::uint64_t total_out_ = 0;
    std::unique_ptr<Engine> engine_;
};

}  // namespace sqlrep
