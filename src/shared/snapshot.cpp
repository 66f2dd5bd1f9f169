#include "shared/snapshot.hpp"

#include <filesystem>
#include <fstream>
#include <new>

#include <sqlite3.h>

#include "shared/error.hpp"
#include "shared/statement.hpp"
#include "shared/temp_files.hpp"

namespace sqlrep {
namespace {

void backup(sqlite3* from, sqlite3* to, const char* what) {
    sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
    if (b == nullptr)
        throw Error(ErrorKind::internal, std::string(what) + ": " + sqlite3_errmsg(to));
    // One step copies every page under one read transaction on the source: a consistent
    // copy, however long it takes, without blocking the source's writer (WAL).
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        throw Error(ErrorKind::internal, std::string(what) + ": " + sqlite3_errstr(rc));
}

}  // namespace

FileChecksum::FileChecksum() : state_(XXH3_createState()) {
    if (state_ == nullptr) throw std::bad_alloc();
    XXH3_128bits_reset(state_);
}

FileChecksum::~FileChecksum() { XXH3_freeState(state_); }

void FileChecksum::update(const void* data, std::size_t size) {
    XXH3_128bits_update(state_, data, size);
}

std::string FileChecksum::hex() const {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_));
    Hash hash;
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), hash.begin());
    return to_hex(hash);
}

std::string file_checksum(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::internal, "cannot read " + path);
    FileChecksum checksum;
    std::vector<char> chunk(1 << 20);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        checksum.update(chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    return checksum.hex();
}

void copy_database(Connection& source, const std::string& path) {
    source.internal([&] {
        // The copy takes the source's sync setting: none, for a temporary file (a crash
        // leaves it to the next start's sweep). The source's own is put back after.
        int synchronous = 2;
        {
            Statement read(source.handle(), "PRAGMA synchronous", "copy");
            if (read.step()) synchronous = sqlite3_column_int(read.get(), 0);
        }
        source.exec_internal("PRAGMA synchronous=OFF");
        std::string failure;
        try {
            Statement copy(source.handle(), "VACUUM INTO ?", "cannot copy the database");
            sqlite3_bind_text(copy.get(), 1, path.c_str(), -1, SQLITE_TRANSIENT);
            copy.step();
        } catch (const Error& e) {
            failure = e.what();
        }
        source.exec_internal("PRAGMA synchronous=" + std::to_string(synchronous));
        if (!failure.empty()) throw Error(ErrorKind::internal, failure);
    });
}

SnapshotFile create_snapshot(Connection& source) {
    SnapshotFile out;
    out.path = unique_temp_path(source.path(), "snapshot", ".db");
    try {
        copy_database(source, out.path);
        {
            Connection target(out.path, Connection::Mode::reader);
            out.position = last_log_position(target);
        }
        out.bytes = std::filesystem::file_size(out.path);
        out.checksum = file_checksum(out.path);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(out.path, ignored);
        throw;
    }
    return out;
}

LogPosition verify_snapshot(const std::string& path) {
    Connection snapshot(path, Connection::Mode::reader);
    return snapshot.internal([&] {
        std::string verdict;
        Statement check(snapshot.handle(), "PRAGMA quick_check", "snapshot check");
        if (check.step())
            verdict = reinterpret_cast<const char*>(sqlite3_column_text(check.get(), 0));
        if (verdict != "ok")
            throw Error(ErrorKind::bad_request, "the snapshot is damaged: " + verdict);

        // Every entry it holds must chain from its base to its last position.
        LogPosition position;
        position.index = first_log_index(snapshot) - 1;
        std::optional<Hash> base = log_hash_at(snapshot, position.index);
        if (!base) throw Error(ErrorKind::bad_request, "the snapshot's log has no base");
        position.hash = *base;
        for (;;) {
            auto entries = read_log_entries(snapshot, position.index + 1, 1000, 8 << 20);
            if (entries.empty()) break;
            for (const Entry& e : entries) {
                if (e.index != position.index + 1 || chain_hash(position.hash, e) != e.hash)
                    throw Error(
                        ErrorKind::bad_request,
                        "the snapshot's log does not chain at entry " + std::to_string(e.index));
                position = {e.index, e.term, e.hash};
            }
        }
        LogPosition last = last_log_position(snapshot);
        if (last.index != position.index)
            throw Error(ErrorKind::bad_request, "the snapshot's log ends unexpectedly");
        return last;
    });
}

void install_snapshot(Connection& writer, const std::string& path) {
    Connection snapshot(path, Connection::Mode::reader);
    backup(snapshot.handle(), writer.handle(), "cannot install the snapshot");
}

}  // namespace sqlrep
