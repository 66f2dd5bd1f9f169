// Compressor and Decompressor: every codec round-trips data fed in odd-sized pieces, output
// comes in bounded pieces, and corrupt, truncated or oversized input is refused with the
// right error.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/compression.hpp"
#include "shared/error.hpp"

using namespace sqlrep;

namespace {

// Half random bytes, half repetitive text: both the incompressible and the easy case.
std::string sample_data(std::size_t size) {
    std::mt19937 rng(42);
    std::string data;
    data.reserve(size);
    while (data.size() < size / 2) data.push_back(static_cast<char>(rng() & 0xff));
    while (data.size() < size) data += "INSERT INTO t VALUES (1, 'hello');\n";
    data.resize(size);
    return data;
}

std::string compress(Codec codec, const std::string& data, std::size_t piece = 7777) {
    Compressor compressor(codec);
    std::string out;
    for (std::size_t at = 0; at < data.size(); at += piece)
        compressor.write(std::string_view(data).substr(at, piece), out);
    compressor.finish(out);
    return out;
}

std::string decompress(Codec codec, const std::string& data, std::size_t piece = 5003,
                       std::uint64_t limit = Decompressor::kUnlimited) {
    Decompressor decompressor(codec, limit);
    std::string out;
    for (std::size_t at = 0; at < data.size(); at += piece)
        decompressor.write(std::string_view(data).substr(at, piece), out);
    decompressor.finish();
    return out;
}

ErrorKind error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind();
    }
    FAIL("no sqlrep::Error thrown");
    return ErrorKind::internal;
}

}  // namespace

TEST_CASE("every codec round-trips data fed in pieces", "[compression]") {
    std::string data = sample_data(600 * 1024);
    for (Codec codec : {Codec::none, Codec::gzip, Codec::zstd}) {
        INFO(codec_name(codec));
        std::string packed = compress(codec, data);
        if (codec != Codec::none) {
            CHECK(packed.size() < data.size());
            CHECK(codec_from_magic(packed) == codec);
        }
        CHECK(decompress(codec, packed) == data);
        CHECK(decompress(codec, packed, 1) == data.substr(0, data.size()));
    }
}

TEST_CASE("an empty input compresses to a valid, empty stream", "[compression]") {
    for (Codec codec : {Codec::gzip, Codec::zstd}) {
        std::string packed = compress(codec, "");
        CHECK_FALSE(packed.empty());
        CHECK(decompress(codec, packed).empty());
    }
}

TEST_CASE("output reaches the sink in pieces of at most kChunkBytes", "[compression]") {
    std::string data(5 * 1024 * 1024, 'a');  // compresses about 1000:1
    for (Codec codec : {Codec::gzip, Codec::zstd}) {
        std::string packed = compress(codec, data);
        Decompressor decompressor(codec);
        std::size_t largest = 0, total = 0;
        decompressor.write(packed, [&](std::string_view piece) {
            largest = std::max(largest, piece.size());
            total += piece.size();
        });
        decompressor.finish();
        CHECK(total == data.size());
        CHECK(largest <= Decompressor::kChunkBytes);
    }
}

TEST_CASE("concatenated streams decompress as one", "[compression]") {
    for (Codec codec : {Codec::gzip, Codec::zstd}) {
        std::string packed = compress(codec, "first ") + compress(codec, "second");
        CHECK(decompress(codec, packed) == "first second");
    }
}

TEST_CASE("corrupt compressed input is a bad request", "[compression]") {
    std::string data = sample_data(100 * 1024);
    for (Codec codec : {Codec::gzip, Codec::zstd}) {
        INFO(codec_name(codec));
        std::string packed = compress(codec, data);
        std::string flipped = packed;
        for (std::size_t i = 20; i < flipped.size(); i += 97) flipped[i] ^= 0x5a;
        CHECK(error_of([&] { decompress(codec, flipped); }) == ErrorKind::bad_request);
        CHECK(error_of([&] { decompress(codec, "this is plain text, not compressed"); }) ==
              ErrorKind::bad_request);
    }
}

TEST_CASE("a truncated or empty stream is refused at finish", "[compression]") {
    std::string data = sample_data(100 * 1024);
    for (Codec codec : {Codec::gzip, Codec::zstd}) {
        INFO(codec_name(codec));
        std::string packed = compress(codec, data);
        CHECK(error_of([&] { decompress(codec, packed.substr(0, packed.size() / 2)); }) ==
              ErrorKind::bad_request);
        CHECK(error_of([&] { decompress(codec, ""); }) == ErrorKind::bad_request);
    }
}

TEST_CASE("output past the limit is too large", "[compression]") {
    std::string data(1024 * 1024, 'z');
    for (Codec codec : {Codec::none, Codec::gzip, Codec::zstd}) {
        std::string packed = compress(codec, data);
        CHECK(error_of([&] { decompress(codec, packed, 4096, 1000 * 1000); }) ==
              ErrorKind::too_large);
        CHECK(decompress(codec, packed, 4096, data.size()) == data);
    }
}

TEST_CASE("codec names and levels", "[compression]") {
    CHECK(codec_from_name("zstd") == Codec::zstd);
    CHECK(codec_from_name("gzip") == Codec::gzip);
    CHECK(codec_from_name("none") == Codec::none);
    CHECK_FALSE(codec_from_name("lz4").has_value());
    CHECK(std::string(codec_file_suffix(Codec::zstd)) == ".zst");
    CHECK(codec_from_magic("SQLite format 3") == Codec::none);
    CHECK(error_of([] { Compressor(Codec::gzip, 12); }) == ErrorKind::bad_request);
    CHECK(error_of([] { Compressor(Codec::zstd, 99); }) == ErrorKind::bad_request);
    std::string data = sample_data(10000);
    Compressor fast(Codec::zstd, 1);
    std::string packed;
    fast.write(data, packed);
    fast.finish(packed);
    CHECK(decompress(Codec::zstd, packed) == data);
}
