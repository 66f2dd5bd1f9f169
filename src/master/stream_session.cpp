#include "master/stream_session.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "shared/replication_log.hpp"
#include "shared/stream_messages.hpp"

namespace sqlrep::master {
namespace {

// A replica catching up applies one batch per transaction (one fsync, one ack): larger
// batches spend less of the catch-up waiting on those.
constexpr std::size_t kBatchEntries = 5000;
constexpr std::size_t kBatchBytes = 8 * 1024 * 1024;
constexpr auto kHeartbeat = std::chrono::milliseconds(1000);
constexpr std::size_t kSnapshotChunk = 1 << 20;
// Batches sent and not yet acked. The replica applies one message per transaction; with
// no limit, small per-group messages queue up in the socket while it works through them
// one fsync at a time (tens of ms of lag under load). With two in flight it always has the
// next batch at hand, and everything that commits meanwhile waits in the ring and goes out
// as one larger batch, one transaction on the replica.
constexpr std::size_t kMaxUnacked = 2;

}  // namespace

StreamSession::StreamSession(ByteStream&& stream, Start start, ReplicaRegistry& registry,
                             const EntryRing& ring, ReadPool& reads, IndexWatch& committed,
                             std::string snapshot_dir)
    : ws_(std::move(stream)),
      start_(start),
      registry_(registry),
      // Before the replica's position is checked: a retraction after this point makes the
      // check stale, and the registry then ignores this stream (replica_registry.hpp).
      epoch_(registry.epoch()),
      ring_(ring),
      reads_(reads),
      committed_(committed),
      snapshot_dir_(std::move(snapshot_dir)),
      next_index_(start.from + 1),
      heartbeat_(ws_.get_executor()) {}

StreamSession::~StreamSession() {
    if (snapshot_) {
        std::error_code ignored;
        std::filesystem::remove(snapshot_->path, ignored);
    }
}

void StreamSession::run(HttpRequest upgrade) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::seconds(10);  // the replica acks every batch and
    timeouts.keep_alive_pings = true;                  // answers pings while idle
    ws_.set_option(timeouts);
    ws_.read_message_max(1024 * 1024);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(kStreamProtocolHeader, std::to_string(kStreamProtocol));
    }));
    ws_.async_accept(upgrade,
                     beast::bind_front_handler(&StreamSession::on_accept, shared_from_this()));
}

void StreamSession::on_accept(beast::error_code ec) {
    if (ec) return fail(ec, "accept");
    // Before streaming, check that the replica's history is a prefix of ours: same hash
    // at its applied index. Anything else means it must not be fed more entries.
    auto self = shared_from_this();
    reads_.post([self](Connection& conn) {
        std::string problem;
        bool needs_snapshot = self->start_.wants_snapshot;
        LogPosition last = last_log_position(conn);
        if (needs_snapshot) {
            // Asked for after a divergence: its history does not matter any more.
        } else if (self->start_.from > last.index) {
            // Entries streamed while their COMMIT was still being fsynced are in the ring
            // before a read connection can see them: that is not "ahead".
            std::optional<Hash> streamed = self->ring_.hash_at(self->start_.from);
            if (!streamed || !self->start_.hash || *streamed != *self->start_.hash)
                problem = "replica is ahead of the master (index " +
                          std::to_string(self->start_.from) + " > " + std::to_string(last.index) +
                          ")";
        } else if (self->start_.from < first_log_index(conn) - 1) {
            needs_snapshot = true;  // the entries it lacks are trimmed
        } else if (self->start_.hash) {
            std::optional<Hash> ours = log_hash_at(conn, self->start_.from);
            if (!ours || *ours != *self->start_.hash)
                problem = "diverged: the replica's hash at index " +
                          std::to_string(self->start_.from) + " differs from the master's";
        } else if (self->start_.from > 0) {
            problem =
                "diverged: the replica gave no hash for index " + std::to_string(self->start_.from);
        }
        net::post(self->ws_.get_executor(), [self, problem, needs_snapshot] {
            self->on_start_checked(problem, needs_snapshot);
        });
    });
}

void StreamSession::on_start_checked(std::string problem, bool needs_snapshot) {
    if (!problem.empty()) return refuse(problem);
    if (needs_snapshot) return send_snapshot();
    started_ = true;
    spdlog::info("replica {} streaming from index {}", start_.replica_id, start_.from);
    registry_.attach(start_.replica_id, shared_from_this(), epoch_);
    registry_.record_ack(start_.replica_id, start_.from, epoch_);
    do_read();
    arm_heartbeat();
    maybe_send();
}

void StreamSession::send_snapshot() {
    spdlog::info("replica {} (at index {}) gets a snapshot", start_.replica_id, start_.from);
    auto self = shared_from_this();
    reads_.post([self](Connection& conn) {
        try {
            SnapshotFile snapshot = create_snapshot(conn, self->snapshot_dir_);
            net::post(self->ws_.get_executor(),
                      [self, snapshot] { self->on_snapshot_ready(snapshot); });
        } catch (const Error& e) {
            std::string problem = std::string("cannot make a snapshot: ") + e.what();
            net::post(self->ws_.get_executor(), [self, problem] { self->refuse(problem); });
        }
    });
}

void StreamSession::on_snapshot_ready(SnapshotFile snapshot) {
    snapshot_ = snapshot;
    snapshot_in_.open(snapshot.path, std::ios::binary);
    if (!snapshot_in_) return refuse("cannot read the snapshot file");
    out_ = encode_stream_snapshot(snapshot.position, snapshot.bytes, snapshot.checksum);
    ws_.text(true);
    ws_.async_write(net::buffer(out_), beast::bind_front_handler(&StreamSession::on_snapshot_write,
                                                                 shared_from_this()));
}

// Sends the snapshot file one chunk at a time: only one chunk is ever in memory.
void StreamSession::on_snapshot_write(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "snapshot write");
    out_.resize(kSnapshotChunk);
    snapshot_in_.read(out_.data(), static_cast<std::streamsize>(out_.size()));
    out_.resize(static_cast<std::size_t>(snapshot_in_.gcount()));
    if (out_.empty()) {
        spdlog::info("replica {} received a snapshot at index {} ({} bytes)", start_.replica_id,
                     snapshot_->position.index, snapshot_->bytes);
        closed_ = true;
        return ws_.async_close(websocket::close_code::normal,
                               [self = shared_from_this()](beast::error_code) {});
    }
    ws_.binary(true);
    ws_.async_write(net::buffer(out_), beast::bind_front_handler(&StreamSession::on_snapshot_write,
                                                                 shared_from_this()));
}

void StreamSession::refuse(const std::string& problem) {
    spdlog::warn("replica {} refused: {}", start_.replica_id, problem);
    closed_ = true;
    out_ = encode_stream_error(problem);
    ws_.text(true);
    auto self = shared_from_this();
    ws_.async_write(net::buffer(out_), [self](beast::error_code, std::size_t) {
        self->ws_.async_close(websocket::close_code::policy_error, [self](beast::error_code) {});
    });
}

void StreamSession::notify() {
    // One posted maybe_send() covers any number of notifications before it runs.
    if (notify_pending_.exchange(true)) return;
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        self->notify_pending_ = false;
        self->maybe_send();
    });
}

void StreamSession::notify_commit() {
    if (waiting_for_commit_.load()) notify();
}

void StreamSession::close() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        if (self->closed_) return;
        self->closed_ = true;
        self->heartbeat_.cancel();
        self->ws_.async_close(websocket::close_code::going_away, [self](beast::error_code) {});
    });
}

void StreamSession::do_read() {
    ws_.async_read(in_, beast::bind_front_handler(&StreamSession::on_read, shared_from_this()));
}

void StreamSession::on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "read");
    try {
        int64_t applied = decode_stream_ack(beast::buffers_to_string(in_.data()));
        registry_.record_ack(start_.replica_id, applied, epoch_);
        while (!unacked_.empty() && unacked_.front() <= applied) unacked_.pop_front();
    } catch (const Error& e) {
        spdlog::warn("replica {} sent a bad message: {}", start_.replica_id, e.what());
        return close();
    }
    in_.consume(in_.size());
    do_read();
    maybe_send();
}

void StreamSession::maybe_send() {
    if (!started_ || closed_ || loading_ || writing_ || unacked_.size() >= kMaxUnacked) return;
    // Recent entries: already encoded, straight from memory, on this thread.
    if (auto batch = ring_.batch(next_index_, kBatchEntries, kBatchBytes)) {
        if (batch->last == 0) return;  // nothing new yet; notify() comes with more
        waiting_for_commit_ = false;
        next_index_ = batch->last + 1;
        unacked_.push_back(batch->last);
        return send(std::move(batch->message), Frame::binary);
    }
    // Older ones (a replica catching up) are read back from the log once committed.
    // Set the flag before reading the index: a commit in between then notifies us.
    waiting_for_commit_ = true;
    if (next_index_ > committed_.value()) return;
    waiting_for_commit_ = false;
    loading_ = true;
    auto self = shared_from_this();
    int64_t from = next_index_;
    reads_.post([self, from](Connection& conn) {
        std::vector<Entry> entries;
        try {
            entries = read_log_entries(conn, from, kBatchEntries, kBatchBytes);
        } catch (const Error& e) {
            spdlog::error("cannot read the log for replica {}: {}", self->start_.replica_id,
                          e.what());
        }
        net::post(self->ws_.get_executor(), [self, entries = std::move(entries)]() mutable {
            self->on_loaded(std::move(entries));
        });
    });
}

void StreamSession::on_loaded(std::vector<Entry> entries) {
    loading_ = false;
    if (closed_) return;
    if (entries.empty() || entries.front().index != next_index_) {
        // The log no longer holds what this replica needs (trimmed meanwhile): it must
        // reconnect and take a snapshot.
        return refuse("snapshot_needed: entry " + std::to_string(next_index_) +
                      " is no longer in the master's log");
    }
    next_index_ = entries.back().index + 1;
    unacked_.push_back(entries.back().index);
    send(encode_stream_entries(entries), Frame::binary);
}

void StreamSession::send(std::string message, Frame frame) {
    writing_ = true;
    sent_since_heartbeat_ = true;
    out_ = std::move(message);
    ws_.binary(frame == Frame::binary);
    ws_.async_write(net::buffer(out_),
                    beast::bind_front_handler(&StreamSession::on_write, shared_from_this()));
}

void StreamSession::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return fail(ec, "write");
    maybe_send();
}

void StreamSession::arm_heartbeat() {
    heartbeat_.expires_after(kHeartbeat);
    heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || self->closed_) return;
        // Idle streams get a heartbeat so the replica can tell a quiet master from a dead
        // one; it also carries the commit index for the replica's lag figure.
        if (!self->sent_since_heartbeat_ && !self->writing_ && !self->loading_)
            self->send(encode_stream_heartbeat(self->committed_.value()), Frame::text);
        self->sent_since_heartbeat_ = false;
        self->arm_heartbeat();
    });
}

void StreamSession::fail(beast::error_code ec, const char* what) {
    bool expected = ec == websocket::error::closed || ec == net::error::operation_aborted ||
                    ec == net::error::eof || ec == beast::error::timeout ||
                    ec == net::error::connection_reset || ec == ssl::error::stream_truncated;
    if (!expected)
        spdlog::warn("replica {} stream {}: {}", start_.replica_id, what, ec.message());
    else
        spdlog::info("replica {} stream closed ({})", start_.replica_id, ec.message());
    closed_ = true;
    heartbeat_.cancel();
    if (started_) registry_.detach(start_.replica_id, this);
}

}  // namespace sqlrep::master
