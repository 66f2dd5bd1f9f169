#include "replica/write_forwarder.hpp"

#include <memory>
#include <thread>

#include "shared/client_request.hpp"
#include "shared/http_types.hpp"

namespace sqlrep::replica {
namespace {

const char* const kStoppedMessage =
    "this node changed role while the request waited: it was not sent to the master; send "
    "it again";

// The master refused the write without running it: another node may take it.
bool refused_unapplied(const HttpResult& result) {
    if (result.status != 503) return false;
    boost::system::error_code ec;
    json::value body = json::parse(result.body, ec);
    const json::value* outcome =
        ec || !body.is_object() ? nullptr : body.get_object().if_contains("outcome");
    return outcome != nullptr && outcome->is_string() &&
           parse_exec_outcome(outcome->get_string()) == ExecOutcome::not_applied;
}

}  // namespace

WriteForwarder::WriteForwarder(const ClusterState& cluster, std::shared_ptr<ssl::context> tls,
                               std::string cluster_token, int threads,
                               std::chrono::milliseconds timeout,
                               std::chrono::milliseconds retry_window, int read_threads)
    : cluster_(cluster),
      tls_(std::move(tls)),
      cluster_token_(std::move(cluster_token)),
      timeout_(timeout),
      retry_window_(retry_window),
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

void WriteForwarder::forward(std::string body, bool has_request_id, WriteDone done) {
    if (stopped_)
        return done(Forwarded{std::nullopt, Error(ErrorKind::unavailable, kStoppedMessage), false});
    net::post(pool_, [this, body = std::move(body), has_request_id, done = std::move(done)] {
        forward_write(body, has_request_id, done);
    });
}

void WriteForwarder::forward_read(std::string body, Done done) {
    if (stopped_) return done(std::nullopt, Error(ErrorKind::unavailable, kStoppedMessage));
    net::post(read_pool_, [this, body = std::move(body), done = std::move(done)] {
        Attempt attempt = send(body);
        done(std::move(attempt.result), std::move(attempt.error));
    });
}

void WriteForwarder::forward_write(const std::string& body, bool has_request_id,
                                   const WriteDone& done) {
    auto deadline = std::chrono::steady_clock::now() + retry_window_;
    bool maybe_applied = false;
    for (int attempt = 1;; ++attempt) {
        Attempt sent = send(body);
        bool settled = sent.result && sent.result->status == 200;
        // Sent without an answer: this attempt may have been applied. Only a 200 (a
        // duplicate when it was) settles that; a refusal of a later attempt does not.
        maybe_applied = !settled && (maybe_applied || (sent.sent && !sent.result));
        // Worth another try: nothing reached a master that would run it, or its fate is
        // unknown and the request id makes a second send safe.
        bool again = sent.result ? refused_unapplied(*sent.result) : !sent.sent || has_request_id;
        auto now = std::chrono::steady_clock::now();
        if (!again || attempt >= kMaxWriteAttempts || now >= deadline || stopped_)
            return done(Forwarded{std::move(sent.result), std::move(sent.error), maybe_applied});
        // Give an election or a handover a moment to name the next master.
        auto pause = std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(100 * attempt * attempt), deadline - now);
        std::this_thread::sleep_for(pause);
    }
}

WriteForwarder::Attempt WriteForwarder::send(const std::string& body) {
    // One kept-alive client per forwarding thread (of either pool), for the master of the
    // moment: a failover makes the next request connect to the new one.
    thread_local std::unique_ptr<HttpClient> client;
    thread_local std::string client_url;
    ClusterState::Master master = cluster_.master();
    if (master.url.empty())
        return {std::nullopt,
                Error(ErrorKind::unavailable,
                      "no master is known to this node right now (an election may be under "
                      "way): the request was not sent; send it again"),
                false};
    try {
        if (!client || client_url != master.url) {
            client.reset();
            client = std::make_unique<HttpClient>(master.url, ClientOptions{tls_, ""});
            client_url = master.url;
        }
        HttpResult result = client->post("/", body,
                                         {{kTokenHeader, cluster_token_},
                                          {kForwardedHeader, std::to_string(cluster_.self_id())},
                                          {kTermHeader, std::to_string(cluster_.term())}},
                                         timeout_);
        return {std::move(result), std::nullopt, true};
    } catch (const Error& e) {
        // Sent only when the whole request went out before the connection failed (then the
        // master may have run it); a refused connect or a failed send reached nobody.
        bool sent = client && client->request_sent();
        return {std::nullopt,
                Error(e.kind(), "cannot reach the master at " + master.url + ": " + e.what()),
                sent};
    }
}

}  // namespace sqlrep::replica
