#pragma once
// Sends writes (and strong reads) that reach a replica on to the master, with the
// cluster token, on a small pool of threads that each keep a connection to the master
// alive. The HTTP threads never block on the master.
//
// forward() is thread-safe; `done` runs on a forwarding thread.

#include <functional>
#include <optional>
#include <string>

#include "shared/error.hpp"
#include "shared/http_client.hpp"
#include "shared/net.hpp"

namespace sqlrep::replica {

class WriteForwarder {
public:
    using Done = std::function<void(std::optional<HttpResult> result, std::optional<Error> error)>;

    // `tls`: the client TLS context for an https master (null for http).
    WriteForwarder(std::string master_url, std::shared_ptr<ssl::context> tls,
                   std::string cluster_token, int replica_id, int threads,
                   std::chrono::milliseconds timeout);
    ~WriteForwarder();
    WriteForwarder(const WriteForwarder&) = delete;
    WriteForwarder& operator=(const WriteForwarder&) = delete;

    // POSTs `body` to the master's "/". Exactly one of result/error is set.
    void forward(std::string body, Done done);

    const std::string& master_url() const { return master_url_; }

    void stop();

private:
    const std::string master_url_;
    const std::shared_ptr<ssl::context> tls_;
    const std::string cluster_token_;
    const int replica_id_;
    const std::chrono::milliseconds timeout_;
    net::thread_pool pool_;
};

}  // namespace sqlrep::replica
