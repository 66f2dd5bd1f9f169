#pragma once
// The continuous archive's files (--archive-dir; docs/ARCHITECTURE.md, "The archive"):
// what they are named, what their header says, how they are written (temp name, fsync,
// rename: a named file is never changed again) and how they are read back and checked.
//
//   snapshot-<index>.db.zst        the whole database at <index>, zstd
//   log-<first>-<last>.zst         entries first..last, each with index, term, time_ms,
//                                  hash, request_id and body, zstd
//
// Indexes are zero-padded to 12 digits so that `ls` lists files in log order. Every file
// starts with a fixed-size text header (kHeaderBytes) that describes it: kind, first and
// last index, the hash before the first entry and after the last, the time of the last
// entry, the term of the master that wrote it, and the size and XXH3-128 of the compressed
// content that follows; the header carries its own checksum too. A file that is
// truncated, extended or has any byte flipped fails its check, named.
//
// Free functions; they block on file I/O. Thread-safe (no shared state).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/log_entry.hpp"

namespace sqlrep {

enum class ArchiveKind { snapshot, log };

struct ArchiveHeader {
    ArchiveKind kind = ArchiveKind::log;
    // A log segment holds entries first..last; a snapshot holds the database at `last`
    // (first == last).
    int64_t first = 0;
    int64_t last = 0;
    Hash previous_hash{};  // the hash at first - 1 (a snapshot: the hash at last)
    Hash last_hash{};      // the hash at last
    int64_t last_time_ms = 0;
    int64_t first_time_ms = 0;
    int64_t term = 0;  // the term of the master that wrote the file
    uint64_t content_bytes = 0;
    uint64_t raw_bytes = 0;        // the content once decompressed
    std::string content_checksum;  // XXH3-128 (hex) of the compressed content
};

// Bytes of the header at the start of every archive file.
inline constexpr std::size_t kHeaderBytes = 1024;

// The file's name for a header: snapshot-<index>.db.zst or log-<first>-<last>.zst.
std::string archive_file_name(const ArchiveHeader& header);

// What a name in the archive dir says, or nullopt for a file that is not an archive file
// (temporary files, the lock, anything else).
struct ArchiveName {
    ArchiveKind kind;
    int64_t first = 0;
    int64_t last = 0;
    std::string file;  // the name itself
};
std::optional<ArchiveName> parse_archive_name(const std::string& name);

// Every archive file in `dir`, snapshots and segments alike, by (last, kind).
std::vector<ArchiveName> list_archive(const std::filesystem::path& dir);

// Writes one archive file into `dir` atomically: `fill` writes the raw content through the
// given sink (compressed as it goes into a temporary file beside the final one), then the
// header is completed, the file fsynced, renamed to its name, and the directory fsynced.
// Returns the final path. `header`'s content fields are filled in. Throws Error(internal)
// on I/O failure, leaving no file under an archive name.
using RawSink = std::function<void(std::string_view)>;
std::filesystem::path write_archive_file(const std::filesystem::path& dir, ArchiveHeader& header,
                                         const std::function<void(const RawSink&)>& fill);

// Reads and checks a file's header (its own checksum, and that it agrees with the file's
// name and size). Throws Error(bad_request) naming the file when it does not.
ArchiveHeader read_archive_header(const std::filesystem::path& path);

// Checks the content's checksum and decompresses it, handing the raw bytes to `sink` in
// chunks. Nothing reaches `sink` before the whole compressed content has been checked.
// Throws Error(bad_request) naming the file when it is damaged.
void read_archive_content(const std::filesystem::path& path, const ArchiveHeader& header,
                          const RawSink& sink);

// Log segment content: entries one after another, each as
//   u64 index, u64 term, i64 time_ms, 16-byte hash, u16 request_id length, request_id,
//   u32 body length, body      (integers little-endian)
void encode_segment_entry(const Entry& entry, std::string& out);
// Decodes a whole segment's content. Throws Error(bad_request) when it is malformed.
std::vector<Entry> decode_segment(std::string_view content);

}  // namespace sqlrep
