#include "archive_restore.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include <sqlite3.h>

#include "replica/applier.hpp"
#include "shared/archive_format.hpp"
#include "shared/backup_file.hpp"
#include "shared/connection.hpp"
#include "shared/error.hpp"
#include "shared/published_index.hpp"
#include "shared/replication_log.hpp"
#include "shared/snapshot.hpp"

namespace sqlrep::restore {
namespace {

namespace fs = std::filesystem;

// Entries applied per transaction.
constexpr std::size_t kBatch = 1000;

[[noreturn]] void fail(const std::string& message) { throw Error(ErrorKind::bad_request, message); }

std::string describe(const RestoreTarget& t) {
    if (t.index) return "index " + std::to_string(*t.index);
    if (t.time_ms) return "time " + std::to_string(*t.time_ms) + " ms";
    return "the latest entry";
}

// The snapshot a restore to `target` starts from: the latest at or before it.
std::pair<ArchiveName, ArchiveHeader> pick_snapshot(const fs::path& dir,
                                                    const std::vector<ArchiveName>& files,
                                                    const RestoreTarget& target) {
    std::optional<int64_t> oldest;
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
        if (it->kind != ArchiveKind::snapshot) continue;
        oldest = it->last;
        if (target.index && it->last > *target.index) continue;
        ArchiveHeader h = read_archive_header(dir / it->file);
        if (target.time_ms && h.last > 0 && h.last_time_ms > *target.time_ms) continue;
        return {*it, h};
    }
    if (!oldest) fail("the archive " + dir.string() + " holds no snapshot to start from");
    fail("no snapshot in " + dir.string() + " is at or before " + describe(target) +
         " (the oldest kept is at index " + std::to_string(*oldest) + ")");
}

void decompress_to(const fs::path& file, const ArchiveHeader& h, const fs::path& out) {
    std::ofstream to(out, std::ios::binary | std::ios::trunc);
    if (!to) throw Error(ErrorKind::internal, "cannot write " + out.string());
    read_archive_content(file, h, [&](std::string_view piece) {
        to.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    });
    to.flush();
    if (!to) throw Error(ErrorKind::internal, "cannot write " + out.string());
}

void remove_database_files(const fs::path& path) {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(path.string() + suffix, ignored);
}

}  // namespace

int64_t archive_last_index(const fs::path& archive) {
    // Segments carry every entry; a snapshot newer than the last segment is reached by
    // a restore only through segments from an older snapshot, so it does not count
    // unless there is no segment at all.
    int64_t segments = -1, snapshots = 0;
    for (const auto& f : list_archive(archive)) {
        if (f.kind == ArchiveKind::log)
            segments = std::max(segments, f.last);
        else
            snapshots = std::max(snapshots, f.last);
    }
    return segments >= 0 ? segments : snapshots;
}

RestoreResult restore_archive(const fs::path& dir, const RestoreTarget& target, const fs::path& out,
                              bool keep_log, bool verbose) {
    if (!fs::is_directory(dir)) fail("no archive directory at " + dir.string());
    if (fs::exists(out)) fail(out.string() + " exists already: restore writes a new file");
    std::vector<ArchiveName> files = list_archive(dir);
    auto [snapshot_name, snapshot] = pick_snapshot(dir, files, target);

    fs::path temp = out.string() + ".restoring";
    remove_database_files(temp);
    struct Cleanup {
        fs::path path;
        bool armed = true;
        ~Cleanup() {
            if (armed) remove_database_files(path);
        }
    } cleanup{temp};

    RestoreResult result;
    result.snapshot = snapshot_name.file;
    if (verbose) std::cerr << "restore: from " << snapshot_name.file << '\n';
    decompress_to(dir / snapshot_name.file, snapshot, temp);
    LogPosition position;
    try {
        position = verify_snapshot(temp.string());
    } catch (const Error& e) {
        fail("archive file " + snapshot_name.file + " is damaged: " + e.what());
    }
    if (position.index != snapshot.last || position.hash != snapshot.last_hash)
        fail("archive file " + snapshot_name.file + " is damaged: its database is at index " +
             std::to_string(position.index) + ", not where its header says");
    result.position = position;
    result.time_ms = snapshot.last_time_ms;

    {
        PublishedIndex published;
        replica::Applier applier(
            std::make_unique<Connection>(temp.string(), Connection::Mode::writer, SyncMode::normal),
            int64_t{1} << 50, published);
        auto reached = [&](const Entry& e) {
            return (target.index && e.index > *target.index) ||
                   (target.time_ms && e.time_ms > *target.time_ms);
        };
        bool done = target.index && position.index >= *target.index;
        std::string last_file;  // the last segment read
        // Segments in log order; each must begin at or before the next entry needed.
        std::vector<ArchiveName> segments;
        for (const auto& f : files)
            if (f.kind == ArchiveKind::log && f.last > position.index) segments.push_back(f);
        std::sort(segments.begin(), segments.end(),
                  [](const ArchiveName& a, const ArchiveName& b) { return a.first < b.first; });
        for (const ArchiveName& seg : segments) {
            if (done) break;
            int64_t next = result.position.index + 1;
            if (seg.last < next) continue;  // wholly covered by what is applied already
            if (seg.first > next)
                fail("gap in the archive: entries " + std::to_string(next) + ".." +
                     std::to_string(seg.first - 1) + " are in no file (the next file is " +
                     seg.file + ")");
            fs::path path = dir / seg.file;
            ArchiveHeader h = read_archive_header(path);
            std::string content;
            read_archive_content(path, h, [&](std::string_view piece) { content += piece; });
            std::vector<Entry> entries;
            try {
                entries = decode_segment(content);
            } catch (const Error& e) {
                fail("archive file " + seg.file + " is damaged: " + e.what());
            }
            content.clear();
            content.shrink_to_fit();
            if (entries.empty() || entries.front().index != h.first ||
                entries.back().index != h.last ||
                static_cast<int64_t>(entries.size()) != h.last - h.first + 1 ||
                entries.back().hash != h.last_hash)
                fail("archive file " + seg.file +
                     " is damaged: its entries do not match its header");
            if (h.first == next && h.previous_hash != result.position.hash)
                fail("archive file " + seg.file +
                     " does not chain from the entry before it (index " + std::to_string(next - 1) +
                     "): the histories differ");
            ++result.segments;
            last_file = seg.file;
            if (verbose) std::cerr << "restore: applying " << seg.file << '\n';

            std::vector<Entry> batch;
            auto flush = [&] {
                if (batch.empty()) return;
                try {
                    applier.apply(batch);
                } catch (const Error& e) {
                    fail("archive file " + seg.file + ": " + e.what());
                }
                result.position = {batch.back().index, batch.back().term, batch.back().hash};
                result.time_ms = batch.back().time_ms;
                result.entries += static_cast<int64_t>(batch.size());
                batch.clear();
            };
            for (Entry& e : entries) {
                if (e.index < next) {
                    // Already applied: it must be the same history.
                    if (e.index == next - 1 && e.hash != result.position.hash)
                        fail("archive file " + seg.file + " does not chain at index " +
                             std::to_string(e.index) + ": the histories differ");
                    continue;
                }
                if (reached(e)) {
                    done = true;
                    break;
                }
                batch.push_back(std::move(e));
                if (batch.size() >= kBatch) flush();
            }
            flush();
            if (target.index && result.position.index >= *target.index) done = true;
        }
        if (target.index && result.position.index < *target.index)
            fail("the archive ends at index " + std::to_string(result.position.index) + " (" +
                 (last_file.empty() ? snapshot_name.file : last_file) + "): index " +
                 std::to_string(*target.index) +
                 " is not in it (a master archives new entries within --archive-interval)");
        applier.close();
    }

    {
        Connection db(temp.string(), Connection::Mode::writer, SyncMode::full);
        db.exec_internal("PRAGMA journal_mode=DELETE");
    }
    if (!keep_log) {
        // A plain SQLite file: the user's tables only, none of sqlrep's bookkeeping. On a
        // plain handle: a Connection refuses any statement on the reserved tables.
        sqlite3* db = nullptr;
        int rc = sqlite3_open_v2(temp.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
        try {
            if (rc != SQLITE_OK) fail("cannot open " + temp.string() + ": " + sqlite3_errstr(rc));
            drop_reserved_tables(db);
        } catch (...) {
            sqlite3_close_v2(db);
            throw;
        }
        sqlite3_close_v2(db);
    }
    fs::rename(temp, out);
    cleanup.armed = false;
    return result;
}

}  // namespace sqlrep::restore
