#pragma once
// One replica's replication stream on the master: a WebSocket over which the master
// sends batches of entries in index order, starting after the replica's applied index,
// and heartbeats when idle; the replica sends back acks of its applied index.
// See docs/PROTOCOL.md for the messages.
//
// A replica too far behind (or diverged) gets a snapshot instead: a consistent copy of
// the database sent as binary frames, after which the session ends and the replica
// reconnects from the snapshot's index.
//
// Pull-shaped: at most one batch is built and one written at a time, so a slow replica
// costs no memory; it simply falls behind. Recent entries come already encoded from the
// EntryRing (possibly before their COMMIT's fsync has finished); a replica behind what the
// ring holds is served from the log, read on the ReadPool.
// All members run on the session's thread (its connection's context); notify() and
// close() may be called from any thread.

#include <atomic>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>

#include "master/entry_ring.hpp"
#include "master/replica_registry.hpp"
#include "shared/background_thread.hpp"
#include "shared/byte_stream.hpp"
#include "shared/http_types.hpp"
#include "shared/index_watch.hpp"
#include "shared/log_entry.hpp"
#include "shared/net.hpp"
#include "shared/read_pool.hpp"
#include "shared/snapshot.hpp"
#include "shared/stream_messages.hpp"

namespace sqlrep::master {

// What every stream of one master shares.
struct StreamContext {
    ReplicaRegistry& registry;
    const EntryRing& ring;
    ReadPool& reads;
    IndexWatch& committed;
    // Snapshots are copied from a read connection of their own to a temporary file next
    // to the database, on a thread at a lower priority than the writer and the streams.
    std::string database_path;
    BackgroundThread& snapshots;
    int64_t term;   // the master's term
    int master_id;  // the master's node id
    // The first index this master took back after a failed commit (streamed, never
    // committed; INT64_MAX when none): a replica holding such an entry rewinds.
    const std::atomic<int64_t>& retracted_from;
    // A replica showed this master is not the one to follow: it holds entries of the
    // master's own term the master lacks (master_behind), or it knows a later term
    // (stale_term). Called on the session's thread; must not block.
    std::function<void(StreamRefusal, const StreamHello&, const std::string& problem)> refused;
};

class StreamSession : public std::enable_shared_from_this<StreamSession> {
  public:
    StreamSession(ByteStream&& stream, StreamHello hello, const StreamContext& context);
    ~StreamSession();

    // Completes the WebSocket handshake for `upgrade`, then streams.
    void run(HttpRequest upgrade);

    // New entries are in the ring.
    void notify();
    // The committed index advanced: matters only to a session waiting to read the log.
    void notify_commit();

    void close();

  private:
    void on_accept(beast::error_code ec);
    void on_start_checked(StreamRefusal refusal, std::string problem, bool needs_snapshot);
    void send_snapshot();
    void on_snapshot_ready(SnapshotFile snapshot);
    void on_snapshot_write(beast::error_code ec, std::size_t);
    void do_read();
    void on_read(beast::error_code ec, std::size_t);
    void maybe_send();
    void on_loaded(std::vector<Entry> entries);
    enum class Frame { text, binary };
    void send(std::string message, Frame frame);
    void on_write(beast::error_code ec, std::size_t);
    void after_write(std::function<void()> next);
    void arm_heartbeat();
    void fail(beast::error_code ec, const char* what);
    void refuse(StreamRefusal kind, const std::string& problem);

    websocket::stream<ByteStream> ws_;  // plain or TLS: one instantiation (byte_stream.hpp)
    const StreamHello start_;
    const StreamContext& context_;
    ReplicaRegistry& registry_;
    const uint64_t epoch_;  // the registry's retraction epoch when this stream began
    const EntryRing& ring_;
    ReadPool& reads_;
    IndexWatch& committed_;

    // session's thread only
    beast::flat_buffer in_;
    std::string out_;
    int64_t next_index_;
    std::deque<int64_t> unacked_;  // last index of each batch sent and not yet acked
    bool started_ = false;
    bool loading_ = false;
    bool writing_ = false;
    bool closed_ = false;
    bool sent_since_heartbeat_ = false;
    net::steady_timer heartbeat_;
    std::optional<SnapshotFile> snapshot_;  // being sent
    std::ifstream snapshot_in_;
    std::function<void()> after_write_;  // what waits for the write in progress

    // any thread
    std::atomic<bool> notify_pending_{false};  // a maybe_send() is posted already
    std::atomic<bool> waiting_for_commit_{false};
};

}  // namespace sqlrep::master
