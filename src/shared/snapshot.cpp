#include "shared/snapshot.hpp"

#include <filesystem>
#include <fstream>

#include <sqlite3.h>
#include <xxhash.h>

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

std::string file_checksum(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::internal, "cannot read " + path);
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    std::vector<char> chunk(1 << 20);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        XXH3_128bits_update(state, chunk.data(), static_cast<size_t>(in.gcount()));
    }
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
    XXH3_freeState(state);
    Hash hash;
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), hash.begin());
    return to_hex(hash);
}

SnapshotFile create_snapshot(Connection& source, const std::string& temp_prefix) {
    SnapshotFile out;
    out.path = unique_temp_path(temp_prefix, "snapshot", ".db");
    try {
        {
            Connection target(out.path, Connection::Mode::writer);
            // A temporary file (a crash leaves it to the next start's sweep): no journal and
            // no syncs. In WAL mode every page would be written twice, and fsynced.
            target.exec_internal("PRAGMA journal_mode=OFF");
            target.exec_internal("PRAGMA synchronous=OFF");
            backup(source.handle(), target.handle(), "cannot copy the database");
            // The pages copied say "WAL" (the source's mode): one self-contained file
            // instead, which a reader opens without a -wal or -shm.
            target.exec_internal("PRAGMA journal_mode=DELETE");
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
