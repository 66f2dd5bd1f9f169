#include "master/archiver.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "shared/archive_format.hpp"
#include "shared/error.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"
#include "shared/snapshot.hpp"
#include "shared/temp_files.hpp"

namespace sqlrep::master {
namespace {

namespace fs = std::filesystem;

// A segment holds at most this many entries or about this many bytes of bodies; more
// waiting entries make several segments in one round.
constexpr std::size_t kSegmentEntries = 100000;
constexpr std::size_t kSegmentBytes = 64 * 1024 * 1024;
constexpr std::size_t kReadEntries = 2000;
constexpr std::size_t kReadBytes = 8 * 1024 * 1024;

std::optional<int64_t> read_term_file(const fs::path& path) {
    std::ifstream in(path);
    int64_t term = 0;
    if (in >> term) return term;
    return std::nullopt;
}

void write_term_file(const fs::path& dir, int64_t term) {
    fs::path temp = dir / ".archive.term.tmp";
    {
        std::ofstream out(temp, std::ios::trunc);
        out << term << "\n";
        out.flush();
        if (!out) throw Error(ErrorKind::internal, "cannot write " + temp.string());
    }
    int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    fs::rename(temp, dir / "archive.term");
}

}  // namespace

Archiver::Archiver(const NodeConfig& config, int64_t term, const IndexWatch& committed)
    : config_(config), dir_(config.archive_dir), term_(term), committed_(committed) {}

Archiver::~Archiver() { stop(); }

void Archiver::start() {
    thread_ = std::thread([this] { run(); });
    snapshot_thread_ = std::thread([this] { run_snapshots(); });
}

void Archiver::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (snapshot_thread_.joinable()) snapshot_thread_.join();
    reader_.reset();
    snapshot_reader_.reset();
    if (lock_fd_ >= 0) {
        ::close(lock_fd_);  // releases the flock
        lock_fd_ = -1;
    }
}

json::object Archiver::status() const {
    std::lock_guard lock(error_mutex_);
    int64_t archived = archived_.load();
    return json::object{{"dir", dir_.string()},
                        {"archived_index", archived},
                        {"snapshot_index", snapshot_index_.load()},
                        {"lag", std::max<int64_t>(0, committed_.value() - archived)},
                        {"last_error", error_.empty() ? snapshot_error_ : error_}};
}

void Archiver::set_error(const std::string& error, bool snapshots) {
    std::lock_guard lock(error_mutex_);
    std::string& slot = snapshots ? snapshot_error_ : error_;
    if (error != slot && !error.empty()) spdlog::error("archive {}: {}", dir_.string(), error);
    slot = error;
}

void Archiver::run() {
    auto interval = std::chrono::milliseconds(config_.archive_interval_ms);
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (stopping_) return;
        }
        try {
            round();
        } catch (const std::exception& e) {
            // The entries stay in the master's log (trimming waits for the archive): the
            // next round tries again.
            set_error(e.what(), false);
        }
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, interval, [this] { return stopping_; });
    }
}

// Periodic snapshots run on a thread of their own, so that copying a big database never
// holds segments back: the lag bound does not depend on the database's size.
void Archiver::run_snapshots() {
    auto interval = std::chrono::milliseconds(config_.archive_interval_ms);
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, interval, [this] { return stopping_; });
            if (stopping_) return;
        }
        if (!resumed_.load()) continue;
        if (committed_.value() - snapshot_index_.load() < config_.archive_snapshot_every) continue;
        try {
            if (!snapshot_reader_)
                snapshot_reader_ =
                    std::make_unique<Connection>(config_.database_path(), Connection::Mode::reader);
            std::lock_guard lock(snapshot_mutex_);
            archive_snapshot(*snapshot_reader_, false);
            apply_retention();
            set_error("", true);
        } catch (const std::exception& e) {
            set_error(e.what(), true);
        }
    }
}

void Archiver::round() {
    if (lock_fd_ < 0 && !take_directory()) return;
    if (!reader_)
        reader_ = std::make_unique<Connection>(config_.database_path(), Connection::Mode::reader);
    if (!resumed_.load()) {
        resume_from_archive();
        if (need_snapshot_) {
            std::lock_guard lock(snapshot_mutex_);
            archive_snapshot(*reader_, true);
        }
        resumed_ = true;
    }
    archive_segments();
    set_error("", false);
}

bool Archiver::take_directory() {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec)
        throw Error(ErrorKind::internal, "cannot create " + dir_.string() + ": " + ec.message());
    fs::path lock_path = dir_ / ".lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(ErrorKind::internal,
                    "cannot open " + lock_path.string() + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        set_error("another process holds the archive directory's lock (" + lock_path.string() +
                      "): not archiving until it lets go",
                  false);
        return false;
    }
    auto recorded = read_term_file(dir_ / "archive.term");
    if (recorded && *recorded > term_) {
        ::close(fd);
        set_error("a master of a later term (" + std::to_string(*recorded) +
                      ") writes this archive; this one (term " + std::to_string(term_) +
                      ") does not",
                  false);
        return false;
    }
    if (!recorded || *recorded != term_) write_term_file(dir_, term_);
    lock_fd_ = fd;
    // Temporary files of a writer that died mid-file: never named, never needed.
    for (const auto& e : fs::directory_iterator(dir_, ec))
        if (e.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove(e.path(), ec);
    spdlog::info("archiving to {} in term {}", dir_.string(), term_);
    return true;
}

void Archiver::resume_from_archive() {
    std::vector<ArchiveName> files = list_archive(dir_);
    LogPosition mine;
    {
        ReadTransaction read(*reader_);
        mine = last_log_position(*reader_);
    }
    // Walk back from the newest file until one ends at an entry this node's log holds
    // with the same hash (or one older than this log reaches: it cannot tell, and the
    // restore checks the chain anyway); everything newer is a branch this node never had.
    // From there on, the last segment and the latest snapshot.
    bool agreed = false;
    int64_t segment = -1;
    int64_t snapshot = -1;
    std::vector<ArchiveName> abandoned;
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
        if (!agreed) {
            ArchiveHeader h;
            try {
                h = read_archive_header(dir_ / it->file);
            } catch (const Error& e) {
                // A damaged file at the archive's end (a disk that lost what it had
                // acknowledged): set it aside, named, and archive its entries again from
                // the log, or start again from a snapshot when the log has let them go.
                fs::path aside = dir_ / "damaged";
                fs::create_directories(aside);
                fs::rename(dir_ / it->file, aside / it->file);
                spdlog::error("archive: {}; moved to {}", e.what(), aside.string());
                continue;
            }
            std::optional<Hash> here;
            if (h.last <= mine.index) {
                ReadTransaction read(*reader_);
                here = log_hash_at(*reader_, h.last);
            }
            if (h.last > mine.index || (here && *here != h.last_hash)) {
                abandoned.push_back(*it);
                continue;
            }
            agreed = true;
        }
        if (it->kind == ArchiveKind::log && segment < 0) segment = it->last;
        if (it->kind == ArchiveKind::snapshot && snapshot < 0) snapshot = it->last;
        if (segment >= 0 && snapshot >= 0) break;
    }
    if (!abandoned.empty()) {
        fs::path aside = dir_ / "abandoned";
        fs::create_directories(aside);
        for (const auto& f : abandoned) {
            spdlog::warn("archive: {} holds entries this master's log does not; moved to {}",
                         f.file, aside.string());
            fs::rename(dir_ / f.file, aside / f.file);
        }
    }
    snapshot_index_ = snapshot;
    // Segments go on from the last one when the log still holds the entry after it; else
    // from the latest snapshot when the log holds the entry after that; else a new
    // snapshot starts the archive again.
    int64_t first;
    {
        ReadTransaction read(*reader_);
        first = first_log_index(*reader_);
    }
    if (segment >= 0 && first <= segment + 1) {
        archived_ = segment;
        need_snapshot_ = snapshot < 0;
    } else if (snapshot >= 0 && first <= snapshot + 1) {
        archived_ = snapshot;
        need_snapshot_ = false;
    } else {
        archived_ = std::max<int64_t>({segment, snapshot, 0});
        need_snapshot_ = true;
    }
    spdlog::info("archive {}: resuming after index {} (latest snapshot {}){}", dir_.string(),
                 archived_.load(), snapshot, need_snapshot_ ? "; taking a snapshot first" : "");
}

void Archiver::archive_segments() {
    int64_t committed = committed_.value();
    while (archived_.load() < committed) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        std::string content;
        ArchiveHeader header;
        header.kind = ArchiveKind::log;
        header.term = term_;
        std::size_t count = 0;
        int64_t next = archived_.load() + 1;
        {
            ReadTransaction read(*reader_);
            std::optional<Hash> previous = log_hash_at(*reader_, next - 1);
            if (first_log_index(*reader_) > next || !previous) {
                // Trimmed before it was archived (the archive was off, or it came back
                // after a gap), or the log was replaced under it: a snapshot starts the
                // archive again.
                need_snapshot_ = true;
            } else {
                header.previous_hash = *previous;
                header.first = next;
            }
            while (!need_snapshot_ && next <= committed && count < kSegmentEntries &&
                   content.size() < kSegmentBytes) {
                auto entries = read_log_entries(*reader_, next, kReadEntries, kReadBytes);
                if (entries.empty()) break;
                int64_t before = next;
                for (const Entry& e : entries) {
                    if (e.index != next || e.index > committed) break;
                    if (count == 0) header.first_time_ms = e.time_ms;
                    encode_segment_entry(e, content);
                    header.last = e.index;
                    header.last_hash = e.hash;
                    header.last_time_ms = e.time_ms;
                    ++next;
                    ++count;
                }
                if (next == before || entries.back().index >= committed) break;
            }
        }
        if (need_snapshot_) {
            spdlog::warn(
                "archive: entry {} is no longer in the log; starting again from a snapshot", next);
            {
                std::lock_guard lock(snapshot_mutex_);
                archive_snapshot(*reader_, true);
            }
            continue;
        }
        if (count == 0)
            throw Error(ErrorKind::internal,
                        "entry " + std::to_string(archived_.load() + 1) + " is not in the log");
        write_archive_file(dir_, header, [&](const RawSink& sink) { sink(content); });
        archived_ = header.last;
        spdlog::debug("archived entries {}..{}", header.first, header.last);
    }
}

void Archiver::archive_snapshot(Connection& reader, bool restart) {
    // Copied as a replica's snapshot is (no checksum: the archive file has its own), into
    // a temporary file removed however this ends.
    struct TempFile {
        std::string path;
        ~TempFile() {
            std::error_code ignored;
            fs::remove(path, ignored);
        }
    } copy{unique_temp_path(reader.path(), "snapshot", ".db")};
    copy_database(reader, copy.path);

    ArchiveHeader header;
    header.kind = ArchiveKind::snapshot;
    header.term = term_;
    {
        Connection snap(copy.path, Connection::Mode::reader);
        LogPosition position = last_log_position(snap);
        header.first = header.last = position.index;
        header.previous_hash = header.last_hash = position.hash;
        auto entries = read_log_entries(snap, position.index, 1, 1);
        if (!entries.empty() && entries.front().index == position.index)
            header.first_time_ms = header.last_time_ms = entries.front().time_ms;
    }
    write_archive_file(dir_, header, [&](const RawSink& sink) {
        std::ifstream in(copy.path, std::ios::binary);
        if (!in) throw Error(ErrorKind::internal, "cannot read " + copy.path);
        std::vector<char> chunk(1 << 20);
        while (in) {
            // A role change waits for stop(): give up a long compression (the temp file
            // is removed; the next master takes its own snapshot).
            {
                std::lock_guard lock(mutex_);
                if (stopping_) throw Error(ErrorKind::unavailable, "the archiver is stopping");
            }
            in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
            if (in.gcount() > 0)
                sink(std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())));
        }
    });
    snapshot_index_ = header.last;
    // Segments go on carrying every entry, so a restore from an older snapshot crosses
    // this one. Only when the log no longer holds the next entry to archive does the
    // archive start again from here (the entries in between exist nowhere else).
    if (restart) {
        if (archived_.load() < header.last) {
            std::optional<Hash> next;
            {
                ReadTransaction read(reader);
                next = log_hash_at(reader, archived_.load());
            }
            if (!next || archived_.load() == 0) archived_ = header.last;
        }
        need_snapshot_ = false;
    }
    spdlog::info("archived a snapshot at index {}", header.last);
}

void Archiver::apply_retention() {
    if (config_.archive_retention <= 0) return;
    std::vector<ArchiveName> files = list_archive(dir_);
    std::vector<int64_t> snapshots;
    for (const auto& f : files)
        if (f.kind == ArchiveKind::snapshot) snapshots.push_back(f.last);
    auto keep = static_cast<std::size_t>(config_.archive_retention);
    if (snapshots.size() <= keep) return;
    // The oldest snapshot kept: older snapshots go, and so do segments that end at or
    // before it (a restore to any point still covered starts at it or later).
    int64_t oldest = snapshots[snapshots.size() - keep];
    for (const auto& f : files) {
        bool old = f.kind == ArchiveKind::snapshot ? f.last < oldest : f.last <= oldest;
        if (!old) continue;
        std::error_code ec;
        fs::remove(dir_ / f.file, ec);
        if (ec)
            spdlog::warn("archive: cannot delete {}: {}", f.file, ec.message());
        else
            spdlog::info("archive: deleted {} (retention: {} snapshots)", f.file, keep);
    }
}

}  // namespace sqlrep::master
