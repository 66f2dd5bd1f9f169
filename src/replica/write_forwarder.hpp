#pragma once
// Sends writes (and strong reads) that reach a replica on to the master, with the
// cluster token, on threads that each keep a connection to the master alive. The HTTP
// threads never block on the master. Writes and strong reads have threads of their own:
// a strong read may wait at the master (a future min_index, a long query) for as long as
// its timeouts allow, and however many do, writes still go through.
//
// The master is whichever node the cluster state names at the moment of sending (it
// changes on failover). A write is sent again (at most kMaxWriteAttempts in all, while
// `retry_window` lasts) when no master is known, when the master refused it without
// running it (503, outcome not_applied: it is not the master any more), and, for a write
// with a request_id, when its fate is unknown (the connection failed or no answer came):
// the master answers a repeat of an id it committed with the first outcome.
// forward() and forward_read() are thread-safe; `done` runs on a forwarding thread, or
// at once when the forwarder is stopped.

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "shared/cluster_state.hpp"
#include "shared/error.hpp"
#include "shared/http_client.hpp"
#include "shared/net.hpp"

namespace sqlrep::replica {

class WriteForwarder {
  public:
    using Done = std::function<void(std::optional<HttpResult> result, std::optional<Error> error)>;

    // What became of a forwarded write: the master's answer to the last attempt, or the
    // error that left it without one.
    struct Forwarded {
        std::optional<HttpResult> result;
        std::optional<Error> error;
        // Some attempt went out and got no answer (the connection failed, or no answer in
        // time), and no later attempt was answered 200 (a duplicate when it was applied):
        // unless `result` says committed, the write's fate is unknown.
        bool maybe_applied = false;
    };
    using WriteDone = std::function<void(Forwarded)>;

    // Threads forwarding strong reads, unless the constructor is told otherwise.
    static constexpr int kDefaultReadThreads = 4;
    static constexpr int kMaxWriteAttempts = 3;

    // `tls`: the client TLS context for an https master (null for http). `threads` forward
    // writes, `read_threads` strong reads. `timeout` bounds each attempt, `retry_window`
    // how long after the first a write may be sent again.
    WriteForwarder(const ClusterState& cluster, std::shared_ptr<ssl::context> tls,
                   std::string cluster_token, int threads, std::chrono::milliseconds timeout,
                   std::chrono::milliseconds retry_window, int read_threads = kDefaultReadThreads);
    ~WriteForwarder();
    WriteForwarder(const WriteForwarder&) = delete;
    WriteForwarder& operator=(const WriteForwarder&) = delete;

    // POSTs the write `body` (an exec, with "request_id" when `has_request_id`) to the
    // master's "/", again as the class comment says. Exactly one of result/error is set;
    // an error is Error(unavailable) or Error(timeout) naming the master.
    void forward(std::string body, bool has_request_id, WriteDone done);
    // The same for a strong read, on the read threads.
    void forward_read(std::string body, Done done);

    // Takes nothing more (forward() answers at once); what is queued or on its way is
    // still sent, to whichever node is master by then, and answered. Returns at once: a
    // role change must not wait for a forward to time out. The destructor joins.
    void stop();

  private:
    // One attempt, on a forwarding thread. `sent` says whether the request may have
    // reached the master.
    struct Attempt {
        std::optional<HttpResult> result;
        std::optional<Error> error;
        bool sent = false;
    };
    Attempt send(const std::string& body);
    void forward_write(const std::string& body, bool has_request_id, const WriteDone& done);

    const ClusterState& cluster_;
    const std::shared_ptr<ssl::context> tls_;
    const std::string cluster_token_;
    std::atomic<bool> stopped_{false};
    const std::chrono::milliseconds timeout_;
    const std::chrono::milliseconds retry_window_;
    net::thread_pool pool_;
    net::thread_pool read_pool_;
};

}  // namespace sqlrep::replica
