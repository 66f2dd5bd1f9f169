#pragma once
// The replica's side of the replication stream: connect to the master the cluster state
// names, at /_cluster/stream, with the cluster token and our position and term (a
// StreamHello), then apply every batch the master sends and ack it, forever; reconnect
// with backoff after any failure and resume from the applied index. A master of an older
// term than ours is refused. Divergence is sticky: the follower stops applying, serves
// nothing, and asks the master for a snapshot until one is installed.
//
// Runs on a thread and io_context of its own, because applying a batch blocks that
// thread on SQLite by design. start()/stop()/status() may be called from any thread.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "replica/applier.hpp"
#include "shared/byte_stream.hpp"
#include "shared/cluster_state.hpp"
#include "shared/index_watch.hpp"
#include "shared/net.hpp"
#include "shared/node_config.hpp"
#include "shared/stream_messages.hpp"
#include "shared/url.hpp"

namespace sqlrep::replica {

enum class FollowerState { connecting, following, diverged };

class StreamFollower {
  public:
    // `master_tls`: the client TLS context for an https master (null for http).
    // `master_lost()` runs on the follower's thread when the master cannot be followed
    // (unreachable a few times in a row, or of an older term): the node then looks for
    // the current one and updates `cluster`.
    StreamFollower(const NodeConfig& config, std::shared_ptr<ssl::context> master_tls,
                   std::string cluster_token, Applier& applier, IndexWatch& applied,
                   ClusterState& cluster, std::function<void()> master_lost);
    ~StreamFollower();
    StreamFollower(const StreamFollower&) = delete;
    StreamFollower& operator=(const StreamFollower&) = delete;

    void start();
    void stop();

    FollowerState state() const { return state_.load(); }
    const char* state_name() const;
    std::string last_error() const;
    int64_t master_commit_index() const { return master_commit_.load(); }
    int64_t resyncs() const { return resyncs_.load(); }

  private:
    net::awaitable<void> follow();
    net::awaitable<void> follow_once(std::string master_url);
    // Ends a session (closes its connection) once this node's term is above
    // `master_term`, the session master's: a paused or cut-off master sends nothing that
    // would end it sooner than the idle timeout.
    struct SessionWatch;
    net::awaitable<void> watch_term(std::shared_ptr<SessionWatch> watch, int64_t master_term);
    StreamHello hello() const;
    net::awaitable<ByteStream> connect(const Url& master);
    [[noreturn]] static void throw_refusal(const StreamMessage& message);
    // Returns the master's term.
    int64_t adopt_master(const websocket::response_type& response, const std::string& url);
    net::awaitable<void> read_message(websocket::stream<ByteStream>& ws,
                                      beast::flat_buffer& buffer);
    net::awaitable<void> receive_snapshot(websocket::stream<ByteStream>& ws,
                                          const StreamMessage& announcement);
    void set_error(const std::string& message);

    const NodeConfig& config_;
    const std::shared_ptr<ssl::context> master_tls_;
    const std::string cluster_token_;
    Applier& applier_;
    IndexWatch& applied_;
    ClusterState& cluster_;
    const std::function<void()> master_lost_;

    net::io_context ioc_;
    std::thread thread_;
    std::atomic<FollowerState> state_{FollowerState::connecting};
    std::atomic<int64_t> master_commit_{0};
    std::atomic<bool> wants_snapshot_{false};  // set by divergence, cleared by a resync
    std::atomic<int64_t> resyncs_{0};
    mutable std::mutex error_mutex_;
    std::string last_error_;  // guarded by error_mutex_
};

}  // namespace sqlrep::replica
