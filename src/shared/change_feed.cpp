#include "shared/change_feed.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "shared/change_snapshot.hpp"
#include "shared/connection.hpp"
#include "shared/error.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"
#include "shared/temp_files.hpp"

namespace sqlrep {
namespace {

// One log read: at most this many entries and about this many bytes of bodies.
constexpr std::size_t kBatchEntries = 512;
constexpr std::size_t kBatchBytes = 256 * 1024;
// A snapshot is sent in pieces of about this size.
constexpr std::size_t kSnapshotPiece = 64 * 1024;
// How much longer than --changes-stall-ms a consumer that was cut off has to take the
// cutoff event before its connection is closed without it.
constexpr std::chrono::milliseconds kCutoffGrace{5000};
constexpr std::chrono::milliseconds kNoGrace{0};

}  // namespace

std::optional<ChangeFeedSlot> ChangeFeedSlot::take(
    const std::shared_ptr<std::atomic<std::size_t>>& count, std::size_t limit) {
    std::size_t now = count->load();
    do {
        if (now >= limit) return std::nullopt;
    } while (!count->compare_exchange_weak(now, now + 1));
    return ChangeFeedSlot(count);
}

ChangeFeedSlot::~ChangeFeedSlot() {
    if (count_) count_->fetch_sub(1);
}

// What one read of the log produced, handed from the pool to the session.
struct ChangeFeedSession::Batch {
    std::vector<Item> items;            // SSE: at most one; WebSocket: one per event
    int64_t next = 0;                   // the first index not read
    std::optional<int64_t> gone_first;  // the log no longer holds `from`: its first index
    int64_t last_id = 0;                // SSE: the last `id:` in the items
    std::string error;
};

ChangeFeedSession::ChangeFeedSession(std::shared_ptr<ResponseStream> sse, ChangeFeedRequest request,
                                     const ChangeFeedContext& context, ChangeFeedSlot slot)
    : transport_(Transport::sse),
      request_(std::move(request)),
      context_(context),
      sse_(std::move(sse)),
      slot_(std::move(slot)),
      stall_timer_(sse_->get_executor()),
      heartbeat_timer_(sse_->get_executor()),
      next_(request_.from) {
    // The stall timer cuts a consumer off first; the stream's own limit only backs it up.
    sse_->set_write_timeout(context_.limits.stall + kCutoffGrace + std::chrono::seconds(5));
}

ChangeFeedSession::ChangeFeedSession(ByteStream&& stream, ChangeFeedRequest request,
                                     const ChangeFeedContext& context, ChangeFeedSlot slot)
    : transport_(Transport::websocket),
      request_(std::move(request)),
      context_(context),
      slot_(std::move(slot)),
      stall_timer_(stream.get_executor()),
      heartbeat_timer_(stream.get_executor()),
      next_(request_.from) {
    ws_.emplace(std::move(stream));
}

ChangeFeedSession::~ChangeFeedSession() = default;

void ChangeFeedSession::run_sse(HttpResponse head) {
    // The head goes first, as the write in flight; the feed starts behind it. (A client
    // that goes away is noticed at the next write: a response stream reads nothing.)
    writing_ = true;
    const uint64_t seq = ++write_seq_;
    arm_stall(seq);
    sse_->start(std::move(head), [self = shared_from_this()](beast::error_code ec) {
        self->writing_ = false;
        if (ec) return self->fail(ec, "write");
        self->do_write();
    });
    start();
}

void ChangeFeedSession::run_websocket(HttpRequest upgrade) {
    ws_->next_layer().tcp().expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_->set_option(timeouts);
    ws_->read_message_max(4096);
    ws_->async_accept(upgrade, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->fail(ec, "accept");
        self->do_read();
        self->start();
    });
}

void ChangeFeedSession::start() {
    arm_heartbeat();
    if (!request_.snapshot) return produce();
    reading_ = true;
    const bool sse = transport_ == Transport::sse;
    context_.reads.post_client(
        [self = shared_from_this(), sse, executor = stall_timer_.get_executor()](Connection& conn) {
            std::shared_ptr<std::ifstream> file;
            int64_t index = 0;
            std::string error;
            try {
                std::string path = unique_temp_path(conn.path(), "changes-snapshot");
                {
                    std::ofstream out(path, std::ios::binary | std::ios::trunc);
                    if (!out) throw Error(ErrorKind::internal, "cannot create " + path);
                    index = write_change_snapshot(conn, self->request_, sse, out);
                    out.flush();
                    if (!out) throw Error(ErrorKind::internal, "cannot write " + path);
                }
                file = std::make_shared<std::ifstream>(path, std::ios::binary);
                std::error_code ec;
                std::filesystem::remove(path, ec);  // the open stream keeps it readable
                if (!*file) throw Error(ErrorKind::internal, "cannot read " + path);
            } catch (const std::exception& e) {
                error = e.what();
            }
            net::post(executor, [self, file, index, error]() mutable {
                self->on_snapshot(std::move(file), index, std::move(error));
            });
        });
}

void ChangeFeedSession::on_snapshot(std::shared_ptr<std::ifstream> file, int64_t index,
                                    std::string error) {
    reading_ = false;
    if (closed_ || cutting_) return;
    if (!error.empty()) {
        spdlog::warn("change feed snapshot failed: {}", error);
        return cut_off("the snapshot failed: " + error);
    }
    snapshot_ = std::move(file);
    next_ = index + 1;
    pump_snapshot();
}

// Moves the next piece of the staged snapshot to the queue; the feed goes on from the log
// once the whole file is queued.
void ChangeFeedSession::pump_snapshot() {
    // Until the snapshot is whole, a consumer cut off must start it again: resume_from is
    // its `from`, and no SSE id is given before snapshot_end.
    const int64_t before = request_.from;
    while (snapshot_ && !cutting_ && queued_bytes_ < context_.limits.queue_bytes) {
        if (transport_ == Transport::sse) {
            std::string piece(kSnapshotPiece, '\0');
            snapshot_->read(piece.data(), static_cast<std::streamsize>(piece.size()));
            piece.resize(static_cast<std::size_t>(snapshot_->gcount()));
            if (piece.empty()) {
                snapshot_.reset();
                break;
            }
            // A piece may end inside an event; the consumer sees whole events all the same.
            const bool end = snapshot_->eof();
            push_raw(std::move(piece), end ? next_ : before, !end);
            if (snapshot_->eof()) snapshot_.reset();
        } else {
            std::string line;
            if (!std::getline(*snapshot_, line)) {
                snapshot_.reset();
                break;
            }
            bool end = snapshot_->peek() == std::char_traits<char>::eof();
            push_raw(std::move(line), end ? next_ : before, !end);
            if (end) snapshot_.reset();
        }
    }
    if (!snapshot_) snapshot_sent_ = true;
    if (!snapshot_ && transport_ == Transport::sse) sse_id_sent_ = next_ - 1;
    if (!snapshot_) produce();
}

void ChangeFeedSession::produce() {
    if (closed_ || cutting_ || reading_ || waiting_ || snapshot_) return;
    if (queued_bytes_ >= context_.limits.queue_bytes) return;  // on_write calls again
    if (context_.applied.value() < next_) return wait_for_entries();
    reading_ = true;
    const bool sse = transport_ == Transport::sse;
    const std::size_t queue_bytes = context_.limits.queue_bytes;
    context_.reads.post_client([self = shared_from_this(), from = next_, sse, queue_bytes,
                                executor = stall_timer_.get_executor()](Connection& conn) {
        auto batch = std::make_shared<Batch>();
        batch->next = from;
        try {
            ReadTransaction txn(conn);
            int64_t first = conn.internal([&] { return first_log_index(conn); });
            if (from < first) {
                batch->gone_first = first;
            } else {
                std::vector<Entry> entries = conn.internal(
                    [&] { return read_log_entries(conn, from, kBatchEntries, kBatchBytes); });
                std::string sse_text;
                std::size_t ws_bytes = 0;
                for (const Entry& entry : entries) {
                    if (entry.index != batch->next) break;  // never skip: a gap ends the batch
                    // Each wanted event is serialized as soon as the next one shows it
                    // was not the entry's last: never all of a big entry's events at once.
                    std::optional<json::object> held;
                    auto emit = [&](json::object& event, bool last) {
                        event["last"] = last;
                        std::string json = json::serialize(event);
                        if (last) batch->last_id = entry.index;
                        if (sse)
                            sse_text +=
                                sse_event(json, last ? std::optional(entry.index) : std::nullopt);
                        else {
                            ws_bytes += json.size();
                            batch->items.push_back(
                                {std::move(json), last ? entry.index + 1 : entry.index});
                        }
                    };
                    self->events_.each_of_entry(conn, entry, [&](json::object& event) {
                        auto table = event.find("table");
                        if (table != event.end() &&
                            !self->request_.wants(table->value().as_string()))
                            return;
                        if (held) emit(*held, false);
                        held = std::move(event);
                    });
                    if (held) emit(*held, true);
                    batch->next = entry.index + 1;
                    // Entries of many changes make far more JSON than body bytes: a batch
                    // also ends once it holds what the consumer's queue may.
                    if (sse_text.size() + ws_bytes >= queue_bytes) break;
                }
                if (sse && !sse_text.empty())
                    batch->items.push_back({std::move(sse_text), batch->next});
            }
        } catch (const std::exception& e) {
            batch->error = e.what();
        }
        net::post(executor, [self, batch] { self->on_batch(batch); });
    });
}

void ChangeFeedSession::on_batch(std::shared_ptr<Batch> batch) {
    reading_ = false;
    if (closed_ || cutting_) return;
    if (!batch->error.empty()) {
        spdlog::warn("change feed read failed: {}", batch->error);
        return cut_off("reading the log failed: " + batch->error);
    }
    if (batch->gone_first)
        return cut_off("the log no longer holds index " + std::to_string(next_) +
                           "; its first index is " + std::to_string(*batch->gone_first) +
                           ": start again with snapshot=true",
                       batch->gone_first);
    const bool progressed = batch->next > next_;
    next_ = batch->next;
    for (auto& item : batch->items) {
        queued_bytes_ += item.bytes.size();
        queue_.push_back(std::move(item));
    }
    if (!batch->items.empty()) {
        sent_since_heartbeat_ = true;
        if (batch->last_id) sse_id_sent_ = batch->last_id;
        do_write();
    }
    if (progressed) return produce();
    if (context_.applied.value() < next_) return wait_for_entries();
    // The index says more is committed than this read saw (a commit published just
    // after our snapshot): look again shortly rather than at once.
    auto retry = std::make_shared<net::steady_timer>(stall_timer_.get_executor(),
                                                     std::chrono::milliseconds(5));
    waiting_ = true;
    retry->async_wait([self = shared_from_this(), retry](beast::error_code) {
        self->waiting_ = false;
        self->produce();
    });
}

void ChangeFeedSession::wait_for_entries() {
    if (waiting_ || closed_) return;
    waiting_ = true;
    // The session's thread (the timers share the connection's executor).
    auto executor = stall_timer_.get_executor();
    context_.applied.wait(next_, context_.limits.heartbeat,
                          [self = shared_from_this(), executor](bool) {
                              net::post(executor, [self] {
                                  self->waiting_ = false;
                                  self->produce();
                              });
                          });
}

void ChangeFeedSession::push(std::string json, int64_t resume_from, bool last_of_entry) {
    if (transport_ == Transport::sse)
        push_raw(sse_event(json, last_of_entry ? std::optional(resume_from - 1) : std::nullopt),
                 resume_from);
    else
        push_raw(std::move(json), resume_from);
}

void ChangeFeedSession::push_raw(std::string bytes, int64_t resume_from, bool mid_snapshot) {
    queued_bytes_ += bytes.size();
    queue_.push_back({std::move(bytes), resume_from, mid_snapshot});
    sent_since_heartbeat_ = true;
    do_write();
}

void ChangeFeedSession::do_write() {
    if (writing_ || queue_.empty() || closed_) return;
    writing_ = true;
    const uint64_t seq = ++write_seq_;
    arm_stall(seq);
    if (transport_ == Transport::sse) {
        // The response stream owns what it writes: the item stays queued (and counted) until
        // its completion.
        sse_->write(queue_.front().bytes,
                    [self = shared_from_this()](beast::error_code ec) { self->on_write(ec, 0); });
    } else {
        ws_->text(true);
        ws_->async_write(
            net::buffer(queue_.front().bytes),
            beast::bind_front_handler(&ChangeFeedSession::on_write, shared_from_this()));
    }
}

void ChangeFeedSession::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return fail(ec, "write");
    queued_bytes_ -= queue_.front().bytes.size();
    queue_.pop_front();
    if (queue_.empty() && cutting_) return finish();
    do_write();
    if (snapshot_)
        pump_snapshot();
    else
        produce();
}

void ChangeFeedSession::arm_stall(uint64_t write_seq) {
    // Once cut off, the consumer gets a while longer to come back for the cutoff event.
    stall_timer_.expires_after(context_.limits.stall + (cutting_ ? kCutoffGrace : kNoGrace));
    stall_timer_.async_wait([self = shared_from_this(), write_seq](beast::error_code ec) {
        if (ec || self->closed_ || !self->writing_ || self->write_seq_ != write_seq) return;
        if (self->cutting_) {
            // Not even the cutoff event goes out: the consumer is gone or stuck.
            spdlog::info("change feed consumer closed: it took nothing since it was cut off");
            return self->close_now();
        }
        self->cut_off("the consumer took nothing for " +
                      std::to_string(self->context_.limits.stall.count()) +
                      " ms while changes waited (a slow consumer is cut off so that it costs the "
                      "node no memory); resume from resume_from");
        self->arm_stall(write_seq);
    });
}

// Ends the feed with a "cutoff" event after what is being written; what waits behind is
// dropped, and the event says where to resume.
void ChangeFeedSession::cut_off(std::string reason, std::optional<int64_t> first_index) {
    if (cutting_ || closed_) return;
    cutting_ = true;
    snapshot_.reset();
    while (queue_.size() > (writing_ ? 1u : 0u)) {
        queued_bytes_ -= queue_.back().bytes.size();
        queue_.pop_back();
    }
    // Nothing queued means everything read was handed over.
    int64_t resume_from = queue_.empty() ? next_ : queue_.front().resume_from;
    json::object event{{"op", "cutoff"}, {"resume_from", resume_from}, {"reason", reason}};
    if (first_index) event["first_index"] = *first_index;
    // Cut before the snapshot's end, the consumer must take the snapshot again: no SSE id
    // that a browser would resume after.
    const bool mid_snapshot =
        queue_.empty() ? request_.snapshot && !snapshot_sent_ : queue_.front().mid_snapshot;
    if (mid_snapshot) event["snapshot_incomplete"] = true;
    push(json::serialize(event), resume_from, resume_from > 1 && !mid_snapshot);
    if (!writing_ && queue_.empty()) finish();
}

void ChangeFeedSession::arm_heartbeat() {
    heartbeat_timer_.expires_after(context_.limits.heartbeat);
    heartbeat_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || self->closed_ || self->cutting_) return;
        if (!self->sent_since_heartbeat_ && !self->writing_ && !self->snapshot_) {
            if (self->transport_ == Transport::sse) {
                std::string beat = ": heartbeat\n";
                // Entries with nothing for this consumer's tables still move its resume point.
                if (self->next_ - 1 > self->sse_id_sent_) {
                    self->sse_id_sent_ = self->next_ - 1;
                    beat += "id: " + std::to_string(self->sse_id_sent_) + "\n";
                }
                self->push_raw(beat + "\n", self->next_);
            } else {
                self->push_raw(json::serialize(
                                   json::object{{"op", "heartbeat"}, {"resume_from", self->next_}}),
                               self->next_);
            }
        }
        self->sent_since_heartbeat_ = false;
        self->arm_heartbeat();
    });
}

// WebSocket: reads what the consumer sends only to notice that it has gone, and to answer
// its pings and close frame.
void ChangeFeedSession::do_read() {
    ws_->async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->fail(ec, "read");
        self->in_.clear();
        self->do_read();
    });
}

void ChangeFeedSession::finish() {
    if (closed_) return;
    closed_ = true;
    stall_timer_.cancel();
    heartbeat_timer_.cancel();
    slot_.reset();
    auto self = shared_from_this();
    if (transport_ == Transport::sse) {
        sse_->finish();
    } else {
        ws_->async_close(websocket::close_code::normal, [self](beast::error_code) {});
    }
}

void ChangeFeedSession::close_now() {
    closed_ = true;
    stall_timer_.cancel();
    heartbeat_timer_.cancel();
    slot_.reset();
    if (transport_ == Transport::sse) {
        sse_->abort();
    } else {
        beast::error_code ignored;
        ws_->next_layer().tcp().socket().close(ignored);
    }
}

void ChangeFeedSession::fail(beast::error_code ec, const char* what) {
    bool expected = ec == websocket::error::closed || ec == net::error::operation_aborted ||
                    ec == net::error::eof || ec == beast::error::timeout ||
                    ec == net::error::connection_reset || ec == net::error::broken_pipe ||
                    ec == ssl::error::stream_truncated;
    if (!expected) spdlog::warn("change feed {}: {}", what, ec.message());
    if (!closed_) close_now();
}

}  // namespace sqlrep
