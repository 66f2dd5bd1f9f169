#pragma once
// One consumer of GET /changes: streams the row changes of this node's log (change_events)
// in index order, as Server-Sent Events or as WebSocket text messages, from the index the
// consumer asked for, then live as the node applies more. docs/API.md ("Change feed") is
// the contract: event format, resume rule, snapshot, cut-off.
//
// Pull-shaped, like the replication stream: the log is read in batches on a client read
// connection (ReadPool, never on the I/O thread) only while less than `queue_bytes` waits
// to be written, so a slow consumer costs at most that much memory. A consumer that takes
// nothing for `stall` while data waits for it is cut off: what it has not been handed is
// dropped, it is sent a final "cutoff" event saying where to resume, and the connection
// closes. While idle, heartbeats show the connection is alive (SSE comments that also move
// the Last-Event-ID past entries that had nothing for the consumer's tables; WebSocket
// {"op":"heartbeat"} messages with the index to resume from).
//
// All members run on the connection's context (the session's thread); the read pool's
// work hands its results back there.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "shared/byte_stream.hpp"
#include "shared/change_events.hpp"
#include "shared/change_feed_request.hpp"
#include "shared/http_types.hpp"
#include "shared/index_watch.hpp"
#include "shared/net.hpp"
#include "shared/read_pool.hpp"
#include "shared/response_stream.hpp"

namespace sqlrep {

struct ChangeFeedLimits {
    std::size_t max_consumers = 64;             // more get 503
    std::size_t queue_bytes = 1 << 20;          // read ahead of the consumer at most this
    std::chrono::milliseconds stall{10000};     // taking nothing this long: cut off
    std::chrono::milliseconds heartbeat{5000};  // an idle feed sends one this often
};

// A place among the node's consumers, given back when the last copy goes away.
class ChangeFeedSlot {
  public:
    // A slot, or nullopt when `limit` consumers already hold one.
    static std::optional<ChangeFeedSlot> take(
        const std::shared_ptr<std::atomic<std::size_t>>& count, std::size_t limit);
    ChangeFeedSlot(ChangeFeedSlot&&) noexcept = default;
    ChangeFeedSlot& operator=(ChangeFeedSlot&&) noexcept = default;
    ~ChangeFeedSlot();

  private:
    explicit ChangeFeedSlot(std::shared_ptr<std::atomic<std::size_t>> count)
        : count_(std::move(count)) {}
    std::shared_ptr<std::atomic<std::size_t>> count_;
};

// What every consumer of one node shares.
struct ChangeFeedContext {
    ReadPool& reads;
    IndexWatch& applied;  // this node's applied (on a master: committed) index
    ChangeFeedLimits limits;
};

class ChangeFeedSession : public std::enable_shared_from_this<ChangeFeedSession> {
  public:
    enum class Transport { sse, websocket };

    // Server-Sent Events on a response the router took the connection over for.
    ChangeFeedSession(std::shared_ptr<ResponseStream> sse, ChangeFeedRequest request,
                      const ChangeFeedContext& context, ChangeFeedSlot slot);
    // WebSocket messages, on a connection whose upgrade request was accepted.
    ChangeFeedSession(ByteStream&& stream, ChangeFeedRequest request,
                      const ChangeFeedContext& context, ChangeFeedSlot slot);
    ~ChangeFeedSession();
    ChangeFeedSession(const ChangeFeedSession&) = delete;
    ChangeFeedSession& operator=(const ChangeFeedSession&) = delete;

    // SSE: `head` (the response's status and headers) goes out first, then the feed.
    void run_sse(HttpResponse head);
    // WebSocket: completes the handshake for `upgrade`, then the feed. An index the log no
    // longer holds (on either transport, once streaming) gets a "cutoff" event with
    // "first_index", and the connection closes.
    void run_websocket(HttpRequest upgrade);

  private:
    // One piece of output: after it is written, the consumer holds every change of the
    // entries before `resume_from`.
    struct Item {
        std::string bytes;
        int64_t resume_from;
        bool mid_snapshot = false;  // a piece of a snapshot before its end
    };
    struct Batch;

    void start();
    void on_snapshot(std::shared_ptr<std::ifstream> file, int64_t index, std::string error);
    void pump_snapshot();
    void produce();
    void on_batch(std::shared_ptr<Batch> batch);
    void wait_for_entries();
    void push(std::string json, int64_t resume_from, bool last_of_entry);
    void push_raw(std::string bytes, int64_t resume_from, bool mid_snapshot = false);
    void do_write();
    void on_write(beast::error_code ec, std::size_t);
    void arm_stall(uint64_t write_seq);
    void cut_off(std::string reason, std::optional<int64_t> first_index = std::nullopt);
    void arm_heartbeat();
    void do_read();
    void finish();
    void close_now();
    void fail(beast::error_code ec, const char* what);

    // Fixed after construction.
    const Transport transport_;
    const ChangeFeedRequest request_;
    const ChangeFeedContext& context_;

    // Session thread only.
    std::shared_ptr<ResponseStream> sse_;              // SSE
    std::optional<websocket::stream<ByteStream>> ws_;  // WebSocket
    std::optional<ChangeFeedSlot> slot_;
    ChangeEvents events_;  // used by one pool read at a time, handed over with it
    net::steady_timer stall_timer_;
    net::steady_timer heartbeat_timer_;
    beast::flat_buffer in_;
    std::deque<Item> queue_;
    std::size_t queued_bytes_ = 0;
    int64_t next_ = 1;         // the first index not yet read from the log
    int64_t sse_id_sent_ = 0;  // the last `id:` the SSE consumer was given
    uint64_t write_seq_ = 0;
    bool writing_ = false;
    bool reading_ = false;
    bool waiting_ = false;
    bool cutting_ = false;  // the cutoff event is queued: nothing more after it
    bool closed_ = false;
    bool sent_since_heartbeat_ = false;
    bool snapshot_sent_ = false;  // all of a snapshot is queued (or none was asked for)
    std::shared_ptr<std::ifstream> snapshot_;  // while a snapshot is being sent
};

}  // namespace sqlrep
