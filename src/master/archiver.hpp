#pragma once
// The continuous archive (--archive-dir): while this node is master, a thread of its own
// copies every committed log entry into compressed, immutable segment files and takes a
// snapshot of the database every --archive-snapshot-every entries, so build/bin/restore
// can rebuild the database as it was at any index or time the archive covers. File format
// and guarantees: archive_format.hpp and docs/ARCHITECTURE.md, "The archive".
//
// Off the write path: it reads the log and takes snapshots through its own read
// connection; writers never wait for it. What it needs from the write path is that the
// master does not trim entries it has not archived yet: trim_floor() is the highest index
// the log may be trimmed to.
//
// One writer per directory: the archiver holds an exclusive lock (flock on DIR/.lock) for
// as long as it runs, and records its term in DIR/archive.term; it refuses a directory a
// master of a later term has written. A new master (after a failover) continues the
// directory: files holding entries its own log does not have (a branch the old master
// wrote and nobody else kept) are moved into DIR/abandoned/, and it goes on from the last
// entry both agree on, or from a fresh snapshot.
//
// Thread contract: start()/stop() from the role's owner; trim_floor() and status() from
// any thread. Two threads: one writes segments, one takes periodic snapshots (so that
// copying a big database never delays segments), each with its own read connection.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "shared/connection.hpp"
#include "shared/index_watch.hpp"
#include "shared/json.hpp"
#include "shared/node_config.hpp"

namespace sqlrep::master {

class Archiver {
  public:
    // `committed` is the master's committed index; entries up to it are archived.
    Archiver(const NodeConfig& config, int64_t term, const IndexWatch& committed);
    ~Archiver();
    Archiver(const Archiver&) = delete;
    Archiver& operator=(const Archiver&) = delete;

    void start();
    // Stops the thread after the file it is writing (if any); releases the directory.
    void stop();

    // The highest index the master's log may be trimmed to: the last archived entry.
    int64_t trim_floor() const { return archived_.load(); }

    // {"dir", "archived_index", "snapshot_index", "lag", "last_error"}.
    json::object status() const;

  private:
    void run();
    // One round: take the directory when not held yet, archive every committed entry.
    void round();
    // The snapshot thread: a snapshot every --archive-snapshot-every entries, then
    // retention.
    void run_snapshots();
    bool take_directory();
    // Finds where the archive stands against this node's log (see the header comment).
    void resume_from_archive();
    void archive_segments();
    // `restart`: the log no longer holds the next entry to archive, so segments go on
    // after this snapshot (archiver thread only); otherwise a periodic one.
    void archive_snapshot(Connection& reader, bool restart);
    void apply_retention();
    void set_error(const std::string& error, bool snapshots);

    // fixed after construction
    const NodeConfig& config_;
    const std::filesystem::path dir_;
    const int64_t term_;
    const IndexWatch& committed_;

    // archiver thread only
    std::unique_ptr<Connection> reader_;
    int lock_fd_ = -1;
    bool need_snapshot_ = false;
    std::thread thread_;
    // snapshot thread only
    std::unique_ptr<Connection> snapshot_reader_;
    std::thread snapshot_thread_;

    // Set by the archiver thread once it holds the directory and knows where the archive
    // stands; the snapshot thread waits for it.
    std::atomic<bool> resumed_{false};
    std::mutex snapshot_mutex_;  // one snapshot (and retention pass) at a time

    std::atomic<int64_t> archived_{0};         // last entry in a named segment (or snapshot)
    std::atomic<int64_t> snapshot_index_{-1};  // the latest archived snapshot
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;  // guarded by mutex_
    mutable std::mutex error_mutex_;
    std::string error_;           // guarded by error_mutex_: segments
    std::string snapshot_error_;  // guarded by error_mutex_: snapshots
};

}  // namespace sqlrep::master
