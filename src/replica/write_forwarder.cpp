#include "replica/write_forwarder.hpp"

#include <memory>

#include "shared/http_types.hpp"

namespace sqlrep::replica {

WriteForwarder::WriteForwarder(const ClusterState& cluster, std::shared_ptr<ssl::context> tls,
                               std::string cluster_token, int threads,
                               std::chrono::milliseconds timeout, int read_threads)
    : cluster_(cluster),
      tls_(std::move(tls)),
      cluster_token_(std::move(cluster_token)),
      timeout_(timeout),
      pool_(static_cast<std::size_t>(threads)),
      read_pool_(static_cast<std::size_t>(read_threads)) {}

WriteForwarder::~WriteForwarder() {
    stop();
    for (net::thread_pool* pool : {&pool_, &read_pool_}) {
        pool->stop();
        pool->join();
    }
}

void WriteForwarder::stop() { stopped_ = true; }

void WriteForwarder::forward(std::string body, Done done) {
    forward_on(pool_, std::move(body), std::move(done));
}

void WriteForwarder::forward_read(std::string body, Done done) {
    forward_on(read_pool_, std::move(body), std::move(done));
}

void WriteForwarder::forward_on(net::thread_pool& pool, std::string body, Done done) {
    if (stopped_)
        return done(std::nullopt,
                    Error(ErrorKind::unavailable,
                          "this node changed role while the request waited: it was not sent to "
                          "the master; send it again"));
    net::post(pool, [this, body = std::move(body), done = std::move(done)] {
        // One kept-alive client per forwarding thread (of either pool), for the master of
        // the moment: a failover makes the next request connect to the new one.
        thread_local std::unique_ptr<HttpClient> client;
        thread_local std::string client_url;
        ClusterState::Master master = cluster_.master();
        if (master.url.empty())
            return done(std::nullopt,
                        Error(ErrorKind::unavailable,
                              "no master is known to this node right now (an election may be "
                              "under way): the request was not sent; send it again"));
        try {
            if (!client || client_url != master.url) {
                client = std::make_unique<HttpClient>(master.url, ClientOptions{tls_, ""});
                client_url = master.url;
            }
            HttpResult result =
                client->post("/", body,
                             {{kTokenHeader, cluster_token_},
                              {kForwardedHeader, std::to_string(cluster_.self_id())},
                              {kTermHeader, std::to_string(cluster_.term())}},
                             timeout_);
            done(std::move(result), std::nullopt);
        } catch (const Error& e) {
            done(std::nullopt,
                 Error(e.kind(), "cannot reach the master at " + master.url + ": " + e.what()));
        }
    });
}

}  // namespace sqlrep::replica
