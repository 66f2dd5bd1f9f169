#include "master/stream_session.hpp"

#include <filesystem>
#include <utility>

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

StreamSession::StreamSession(ByteStream&& stream, StreamHello hello, const StreamContext& context)
    : ws_(std::move(stream)),
      start_(std::move(hello)),
      context_(context),
      registry_(context.registry),
      // Before the replica's position is checked: a retraction after this point makes the
      // check stale, and the registry then ignores this stream (replica_registry.hpp).
      epoch_(context.registry.epoch()),
      ring_(context.ring),
      reads_(context.reads),
      committed_(context.committed),
      next_index_(start_.from + 1),
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
    ws_.set_option(websocket::stream_base::decorator(
        [term = context_.term, id = context_.master_id](websocket::response_type& res) {
            res.set(kStreamProtocolHeader, std::to_string(kStreamProtocol));
            res.set(kTermHeader, std::to_string(term));
            res.set(kStreamNodeHeader, std::to_string(id));
        }));
    ws_.async_accept(upgrade,
                     beast::bind_front_handler(&StreamSession::on_accept, shared_from_this()));
}

void StreamSession::on_accept(beast::error_code ec) {
    if (ec) return fail(ec, "accept");
    if (start_.term > context_.term)
        return on_start_checked(StreamRefusal::stale_term,
                                "node " + std::to_string(start_.node_id) + " knows term " +
                                    std::to_string(start_.term) + ", this master's is " +
                                    std::to_string(context_.term),
                                false);
    // Before streaming, check that the replica's history is a prefix of ours: same hash
    // at its last index. Anything else means it must not be fed more entries; who gives
    // way depends on the terms (docs/ARCHITECTURE.md, "Rejoining").
    auto self = shared_from_this();
    reads_.post([self](Connection& conn) {
        const StreamHello& hello = self->start_;
        std::string problem;
        bool needs_snapshot = hello.wants_snapshot;
        LogPosition last = last_log_position(conn);
        std::optional<Hash> ours;
        if (!needs_snapshot && hello.from > last.index)
            // Entries streamed while their COMMIT was still being fsynced are in the ring
            // before a read connection can see them: that is not "ahead".
            ours = self->ring_.hash_at(hello.from);
        else if (!needs_snapshot && hello.from < first_log_index(conn) - 1)
            needs_snapshot = true;  // the entries it lacks are trimmed
        else if (!needs_snapshot && hello.from > 0)
            ours = log_hash_at(conn, hello.from);
        bool prefix = needs_snapshot || hello.from == 0 || (ours && *ours == *hello.hash);
        StreamRefusal refusal = StreamRefusal::diverged;
        bool retracted = hello.from >= self->context_.retracted_from.load();
        if (!prefix && hello.last_term >= self->context_.term && !retracted) {
            // Entries of this master's own term that it does not hold and never took
            // back: it lost them (a crash under --sync normal) and must not make the
            // replica give them up.
            refusal = StreamRefusal::master_behind;
            problem = "node " + std::to_string(hello.node_id) + " holds index " +
                      std::to_string(hello.from) + " of term " + std::to_string(hello.last_term) +
                      " that this master (at index " + std::to_string(last.index) +
                      ") does not have";
        } else if (!prefix) {
            // Written by an older master, or taken back by this one: never committed
            // here, so the replica rewinds.
            problem = "diverged: node " + std::to_string(hello.node_id) + "'s entry " +
                      std::to_string(hello.from) + " (term " + std::to_string(hello.last_term) +
                      ") is not in the log of the master of term " +
                      std::to_string(self->context_.term);
        }
        net::post(self->ws_.get_executor(), [self, refusal, problem, needs_snapshot] {
            self->on_start_checked(refusal, problem, needs_snapshot);
        });
    });
}

void StreamSession::on_start_checked(StreamRefusal refusal, std::string problem,
                                     bool needs_snapshot) {
    if (!problem.empty()) {
        if (refusal != StreamRefusal::diverged && context_.refused)
            context_.refused(refusal, start_, problem);
        return refuse(refusal, problem);
    }
    if (needs_snapshot) return send_snapshot();
    started_ = true;
    spdlog::info("node {} streaming from index {}", start_.node_id, start_.from);
    registry_.attach(start_.node_id, shared_from_this(), epoch_, start_.url);
    registry_.record_ack(start_.node_id, start_.from, epoch_);
    do_read();
    arm_heartbeat();
    maybe_send();
}

void StreamSession::send_snapshot() {
    spdlog::info("node {} (at index {}) gets a snapshot", start_.node_id, start_.from);
    // Making the copy of a big database takes longer than either side's idle timeout, the
    // more so while writes go on: heartbeats keep the replica waiting, and a pending read
    // takes in its pongs so this side's keep-alive sees it alive (the read also notices
    // a replica that goes away).
    do_read();
    arm_heartbeat();
    auto self = shared_from_this();
    context_.snapshots.post([self] {
        try {
            Connection conn(self->context_.database_path, Connection::Mode::reader);
            SnapshotFile snapshot = create_snapshot(conn);
            net::post(self->ws_.get_executor(), [self, snapshot] {
                self->after_write([self, snapshot] { self->on_snapshot_ready(snapshot); });
            });
        } catch (const std::exception& e) {
            std::string problem = std::string("cannot make a snapshot: ") + e.what();
            net::post(self->ws_.get_executor(), [self, problem] {
                self->after_write([self, problem] { self->refuse(StreamRefusal::other, problem); });
            });
        }
    });
}

void StreamSession::on_snapshot_ready(SnapshotFile snapshot) {
    if (closed_) {
        std::error_code ignored;
        std::filesystem::remove(snapshot.path, ignored);
        return;
    }
    snapshot_ = snapshot;
    snapshot_in_.open(snapshot.path, std::ios::binary);
    if (!snapshot_in_) return refuse(StreamRefusal::other, "cannot read the snapshot file");
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
        spdlog::info("node {} received a snapshot at index {} ({} bytes)", start_.node_id,
                     snapshot_->position.index, snapshot_->bytes);
        closed_ = true;
        return ws_.async_close(websocket::close_code::normal,
                               [self = shared_from_this()](beast::error_code) {});
    }
    ws_.binary(true);
    ws_.async_write(net::buffer(out_), beast::bind_front_handler(&StreamSession::on_snapshot_write,
                                                                 shared_from_this()));
}

void StreamSession::refuse(StreamRefusal kind, const std::string& problem) {
    spdlog::warn("node {} refused ({}): {}", start_.node_id, stream_refusal_name(kind), problem);
    closed_ = true;
    out_ = encode_stream_error(kind, problem);
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
    if (!started_) {  // a replica waiting for its snapshot has nothing to say
        in_.consume(in_.size());
        return do_read();
    }
    try {
        int64_t applied = decode_stream_ack(beast::buffers_to_string(in_.data()));
        registry_.record_ack(start_.node_id, applied, epoch_);
        while (!unacked_.empty() && unacked_.front() <= applied) unacked_.pop_front();
    } catch (const Error& e) {
        spdlog::warn("node {} sent a bad message: {}", start_.node_id, e.what());
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
            spdlog::error("cannot read the log for replica {}: {}", self->start_.node_id, e.what());
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
        return refuse(StreamRefusal::other,
                      "entry " + std::to_string(next_index_) + " is no longer in the master's log");
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
    if (ec) fail(ec, "write");
    // What waited for this write runs after a failure too: a snapshot made meanwhile
    // must still be removed (on_snapshot_ready).
    if (after_write_) return std::exchange(after_write_, nullptr)();
    if (!ec) maybe_send();
}

// Beast allows one write at a time: a heartbeat may still be going out.
void StreamSession::after_write(std::function<void()> next) {
    if (writing_)
        after_write_ = std::move(next);
    else
        next();
}

void StreamSession::arm_heartbeat() {
    heartbeat_.expires_after(kHeartbeat);
    heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || self->closed_) return;
        // Idle streams get a heartbeat so the replica can tell a quiet master from a dead
        // one; it also carries the commit index for the replica's lag figure.
        if (!self->sent_since_heartbeat_ && !self->writing_ && !self->loading_ &&
            !self->snapshot_)  // snapshot frames go out back to back, nothing between
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
        spdlog::warn("node {} stream {}: {}", start_.node_id, what, ec.message());
    else
        spdlog::info("node {} stream closed ({})", start_.node_id, ec.message());
    closed_ = true;
    heartbeat_.cancel();
    if (started_) registry_.detach(start_.node_id, this);
}

}  // namespace sqlrep::master
