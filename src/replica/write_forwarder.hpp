#pragma once
// Sends writes (and strong reads) that reach a replica on to the master, with the
// cluster token, on threads that each keep a connection to the master alive. The HTTP
// threads never block on the master. Writes and strong reads have threads of their own:
// a strong read may wait at the master (a future min_index, a long query) for as long as
// its timeouts allow, and however many do, writes still go through.
//
// The master is whichever node the cluster state names at the moment of sending (it
// changes on failover). forward() and forward_read() are thread-safe; `done` runs on a
// forwarding thread, or at once when the forwarder is stopped.

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

    // Threads forwarding strong reads, unless the constructor is told otherwise.
    static constexpr int kDefaultReadThreads = 4;

    // `tls`: the client TLS context for an https master (null for http). `threads` forward
    // writes, `read_threads` strong reads.
    WriteForwarder(const ClusterState& cluster, std::shared_ptr<ssl::context> tls,
                   std::string cluster_token, int threads, std::chrono::milliseconds timeout,
                   int read_threads = kDefaultReadThreads);
    ~WriteForwarder();
    WriteForwarder(const WriteForwarder&) = delete;
    WriteForwarder& operator=(const WriteForwarder&) = delete;

    // POSTs the write `body` to the master's "/". Exactly one of result/error is set; an
    // error is Error(unavailable) naming the master that could not be reached.
    void forward(std::string body, Done done);
    // The same for a strong read, on the read threads.
    void forward_read(std::string body, Done done);

    // Takes nothing more (forward() answers at once); what is queued or on its way is
    // still sent, to whichever node is master by then, and answered. Returns at once: a
    // role change must not wait for a forward to time out. The destructor joins.
    void stop();

  private:
    void forward_on(net::thread_pool& pool, std::string body, Done done);

    const ClusterState& cluster_;
    const std::shared_ptr<ssl::context> tls_;
    const std::string cluster_token_;
    std::atomic<bool> stopped_{false};
    const std::chrono::milliseconds timeout_;
    net::thread_pool pool_;
    net::thread_pool read_pool_;
};

}  // namespace sqlrep::replica
