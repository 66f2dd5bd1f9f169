#include "replica/write_forwarder.hpp"

#include <memory>

#include "shared/http_types.hpp"

namespace sqlrep::replica {

WriteForwarder::WriteForwarder(std::string master_url, std::shared_ptr<ssl::context> tls,
                               std::string cluster_token, int replica_id, int threads,
                               std::chrono::milliseconds timeout, int read_threads)
    : master_url_(std::move(master_url)),
      tls_(std::move(tls)),
      cluster_token_(std::move(cluster_token)),
      replica_id_(replica_id),
      timeout_(timeout),
      pool_(static_cast<std::size_t>(threads)),
      read_pool_(static_cast<std::size_t>(read_threads)) {}

WriteForwarder::~WriteForwarder() { stop(); }

void WriteForwarder::stop() {
    for (net::thread_pool* pool : {&pool_, &read_pool_}) {
        pool->stop();
        pool->join();
    }
}

void WriteForwarder::forward(std::string body, Done done) {
    forward_on(pool_, std::move(body), std::move(done));
}

void WriteForwarder::forward_read(std::string body, Done done) {
    forward_on(read_pool_, std::move(body), std::move(done));
}

void WriteForwarder::forward_on(net::thread_pool& pool, std::string body, Done done) {
    net::post(pool, [this, body = std::move(body), done = std::move(done)] {
        // One kept-alive client per forwarding thread (of either pool).
        thread_local std::unique_ptr<HttpClient> client;
        try {
            if (!client)
                client = std::make_unique<HttpClient>(master_url_, ClientOptions{tls_, ""});
            HttpResult result = client->post(
                "/", body,
                {{kTokenHeader, cluster_token_}, {kForwardedHeader, std::to_string(replica_id_)}},
                timeout_);
            done(std::move(result), std::nullopt);
        } catch (const Error& e) {
            done(std::nullopt, e);
        }
    });
}

}  // namespace sqlrep::replica
