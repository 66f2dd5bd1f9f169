#pragma once
// Rebuilds a database from an archive directory (--archive-dir; archive_format.hpp): the
// latest snapshot at or before the target, then every archived entry after it up to the
// target, applied by the replica's own applier (replica/applier.hpp), so the rebuild
// checks each entry's chained hash and applies its effects exactly as a replica would.
//
// Every file it reads is checked first (header, size, content checksum); a damaged file,
// a gap between files, or an entry that does not chain stops the restore with an
// Error(bad_request) naming the file. Nothing is ever skipped.
//
// Blocks on file and SQLite I/O; one call at a time per output path.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "shared/log_entry.hpp"

namespace sqlrep::restore {

struct RestoreTarget {
    std::optional<int64_t> index;    // up to and including this entry
    std::optional<int64_t> time_ms;  // up to the last entry whose time_ms <= this
    // Neither: the latest entry the archive holds.
};

struct RestoreResult {
    LogPosition position;  // the last entry applied (or the snapshot's)
    int64_t time_ms = 0;   // that entry's time
    std::string snapshot;  // the snapshot file it started from
    int segments = 0;      // segment files read
    int64_t entries = 0;   // entries applied after the snapshot
};

// Writes the database at `target` to `out` (which must not exist; written under a
// temporary name beside it, renamed when complete). `keep_log` keeps sqlrep's reserved
// _sqlrep_* tables (the log and its meta); without it the file is a plain SQLite database
// holding only the user's tables. Reports progress on stderr when `verbose`.
RestoreResult restore_archive(const std::filesystem::path& archive, const RestoreTarget& target,
                              const std::filesystem::path& out, bool keep_log, bool verbose);

// The last index a restore can reach: the end of the last segment (of the newest
// snapshot when there is no segment; 0 when there is nothing). Only names are read.
int64_t archive_last_index(const std::filesystem::path& archive);

}  // namespace sqlrep::restore
