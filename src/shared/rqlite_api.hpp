#pragma once
// rqlite's data API on every node, beside sqlrep's own POST /: /db/execute, /db/query
// (POST, and GET ?q=), /db/request and /nodes, with rqlite's options; docs/API.md
// ("rqlite compatibility") maps each onto sqlrep. Every request becomes one or more
// ordinary sqlrep requests run through the node's own path (`Native`), so roles, limits,
// the statement policy, forwarding to the master and read levels are exactly those of
// POST /; only the answers are reshaped into rqlite's.
//
// serve() runs on an I/O thread and never blocks: each sqlrep answer continues the work
// on this unit's own thread; classifying /db/request's statements runs on the read pool.
// The rqlite shapes of /status and /readyz are in rqlite_status.hpp.

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "shared/client_auth.hpp"
#include "shared/http_types.hpp"
#include "shared/node_config.hpp"
#include "shared/read_pool.hpp"
#include "shared/rqlite_request.hpp"
#include "shared/write_queue.hpp"

namespace sqlrep {

class RqliteApi {
  public:
    // Runs a sqlrep request (POST / with its body) for the client who sent the rqlite one.
    using Native = std::function<void(HttpRequest, Respond)>;
    // The node's sqlrep /status body.
    using Status = std::function<json::object()>;

    // Queued writes waiting at most (rqlite's default queue capacity); more get 503.
    static constexpr std::size_t kQueueCapacity = 1024;

    RqliteApi(const NodeConfig& config, ReadPool& reads, Status status);
    ~RqliteApi();
    RqliteApi(const RqliteApi&) = delete;
    RqliteApi& operator=(const RqliteApi&) = delete;

    // Whether `path` is one of the endpoints serve() answers.
    static bool serves(std::string_view path);

    // Answers `req` (its client has `role`). Throws Error for a malformed request.
    void serve(const HttpRequest& req, Role role, Native native, Respond respond);

    // When this node started serving (for /status).
    std::chrono::system_clock::time_point started() const { return started_; }

  private:
    struct Job;
    void run(std::shared_ptr<Job> job);
    void run_each(std::shared_ptr<Job> job);
    void call(const std::shared_ptr<Job>& job, std::size_t first, std::size_t count,
              std::function<void(unsigned, json::value, double)> then);
    void finish(const std::shared_ptr<Job>& job);
    void serve_nodes(const RqliteOptions& options, Respond respond);
    void enqueue(std::shared_ptr<Job> job);

    const NodeConfig& config_;
    ReadPool& reads_;
    const Status status_;
    const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
    WriteQueue queue_{kQueueCapacity};
    // Continues jobs when a sqlrep answer arrives (on whatever thread answered). Last member:
    // joined first, before the queue it may still touch is gone.
    net::thread_pool continuations_{1};
};

}  // namespace sqlrep
