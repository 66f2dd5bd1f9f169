#include "replica/stream_follower.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "shared/error.hpp"
#include "shared/http_types.hpp"
#include "shared/snapshot.hpp"
#include "shared/stream_messages.hpp"
#include "shared/temp_files.hpp"
#include "shared/url.hpp"

namespace sqlrep::replica {
namespace {

constexpr auto kMinBackoff = std::chrono::milliseconds(50);
// Longest wait for the master's next message: it heartbeats every second when idle.
constexpr auto kMasterSilence = std::chrono::seconds(5);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
// The master this node follows cannot be followed (none known, or its term is over):
// the node must look for the current one.
struct MasterLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Failed attempts in a row after which the master counts as lost (master_lost()).
constexpr int kAttemptsBeforeLost = 3;

int64_t header_int(const websocket::response_type& response, const char* name) {
    std::string_view text = response[name];
    int64_t value = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return -1;
    return value;
}

}  // namespace

StreamFollower::StreamFollower(const NodeConfig& config, std::shared_ptr<ssl::context> master_tls,
                               std::string cluster_token, Applier& applier, IndexWatch& applied,
                               ClusterState& cluster, std::function<void()> master_lost)
    : config_(config),
      master_tls_(std::move(master_tls)),
      cluster_token_(std::move(cluster_token)),
      applier_(applier),
      applied_(applied),
      cluster_(cluster),
      master_lost_(std::move(master_lost)) {}

StreamFollower::~StreamFollower() { stop(); }

void StreamFollower::start() {
    net::co_spawn(ioc_, follow(), net::detached);
    thread_ = std::thread([this] { ioc_.run(); });
}

void StreamFollower::stop() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
}

const char* StreamFollower::state_name() const {
    switch (state_.load()) {
        case FollowerState::connecting:
            return "connecting";
        case FollowerState::following:
            return "following";
        case FollowerState::diverged:
            return "diverged";
    }
    return "connecting";
}

std::string StreamFollower::last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
}

void StreamFollower::set_error(const std::string& message) {
    std::lock_guard lock(error_mutex_);
    last_error_ = message;
}

// Reconnects forever with capped exponential backoff, until divergence.
net::awaitable<void> StreamFollower::follow() {
    auto backoff = kMinBackoff;
    int failures = 0;
    net::steady_timer timer(co_await net::this_coro::executor);
    for (;;) {
        // A diverged replica stays diverged (and serves no reads) until a snapshot is in.
        if (!wants_snapshot_) state_ = FollowerState::connecting;
        bool lost = false;
        try {
            std::string master_url = cluster_.master_url();
            if (master_url.empty()) throw MasterLost("no master is known: looking for one");
            co_await follow_once(std::move(master_url));
        } catch (const MasterLost& e) {
            set_error(e.what());
            spdlog::warn("stream: {}", e.what());
            lost = true;
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::diverged) {
                state_ = FollowerState::diverged;
                wants_snapshot_ = true;
                set_error(e.what());
                spdlog::critical(
                    "replica {} DIVERGED from the master and stopped applying; "
                    "resyncing from a snapshot: {}",
                    config_.node_id, e.what());
            }
            set_error(e.what());
            spdlog::warn("stream: {}", e.what());
        } catch (const boost::system::system_error& e) {
            // The code's message: Boost 1.81's what() appends the source location.
            set_error("cannot stream from the master: " + e.code().message());
            spdlog::info("stream from {}: {}", cluster_.master_url(), e.code().message());
        } catch (const std::exception& e) {
            // Anything else is a bug: the loop must not die with it (a detached coroutine
            // would end silently, and the replica would stop following for good).
            set_error(std::string("the follower failed and restarts: ") + e.what());
            spdlog::error("stream follower: unexpected failure, restarting: {}", e.what());
        }
        // A session that got going resets the backoff; repeated failures back off, and
        // after a few the node looks for the current master.
        if (state_ != FollowerState::connecting) {
            backoff = kMinBackoff;
            failures = 0;
        } else {
            backoff = std::min(backoff * 2, kMaxBackoff);
            lost = lost || ++failures >= kAttemptsBeforeLost;
        }
        if (lost && master_lost_) {
            failures = 0;
            master_lost_();
        }
        timer.expires_after(backoff);
        co_await timer.async_wait(net::use_awaitable);
    }
}

// TCP connection to the master and, for https, the TLS handshake (verifying the master
// when we have a --tls-ca, presenting our certificate when we have one).
net::awaitable<ByteStream> StreamFollower::connect(const Url& master) {
    auto executor = co_await net::this_coro::executor;
    tcp::resolver resolver(executor);
    auto endpoints = co_await resolver.async_resolve(master.host, std::to_string(master.port),
                                                     net::use_awaitable);
    beast::tcp_stream tcp(executor);
    tcp.expires_after(std::chrono::seconds(5));
    co_await tcp.async_connect(endpoints, net::use_awaitable);
    // Acks are tiny writes; Nagle would hold one behind the previous one's ACK.
    tcp.socket().set_option(tcp::no_delay(true));
    if (!master_tls_) {
        tcp.expires_never();
        co_return ByteStream(std::move(tcp));
    }
    ByteStream stream(std::move(tcp), *master_tls_);
    stream.set_server_name(master.host);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::client,
                                                net::as_tuple(net::use_awaitable));
    if (ec)
        throw Error(ErrorKind::unavailable,
                    "TLS handshake with the master failed: " + stream.describe(ec));
    stream.tcp().expires_never();
    co_return stream;
}

struct StreamFollower::SessionWatch {
    explicit SessionWatch(net::any_io_executor executor) : timer(std::move(executor)) {}
    net::steady_timer timer;
    beast::tcp_stream* tcp = nullptr;  // the session's connection, while !done
    bool done = false;                 // the session has ended
    bool superseded = false;           // the watch closed the connection
};

// On the follower's thread, like the session it watches.
net::awaitable<void> StreamFollower::watch_term(std::shared_ptr<SessionWatch> watch,
                                                int64_t master_term) {
    while (!watch->done) {
        watch->timer.expires_after(std::chrono::milliseconds(100));
        co_await watch->timer.async_wait(net::as_tuple(net::use_awaitable));
        if (watch->done) co_return;
        if (cluster_.term() > master_term) {
            watch->superseded = true;
            watch->tcp->close();  // the session's pending read fails at once
            co_return;
        }
    }
}

// One session: connect, handshake with our position, then apply and ack until the
// connection ends. Throws on any failure; follow() decides what happens next.
net::awaitable<void> StreamFollower::follow_once(std::string master_url) {
    Url master = parse_url(master_url);
    websocket::stream<ByteStream> ws(co_await connect(master));

    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(5);
    // Not Beast's idle timeout: it counts from the start of a read, so applying a batch
    // for longer than the timeout (big entries, a busy disk) would cut the stream.
    // read_message() bounds only the wait for the master.
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    ws.read_message_max(256 * 1024 * 1024);
    ws.set_option(websocket::stream_base::decorator(
        [this](websocket::request_type& req) { req.set(kTokenHeader, cluster_token_); }));

    const LogPosition& position = applier_.position();
    std::string target = encode_stream_hello(hello());
    websocket::response_type response;
    try {
        co_await ws.async_handshake(response, master.host + ":" + std::to_string(master.port),
                                    target, net::use_awaitable);
    } catch (const boost::system::system_error& e) {
        if (response.result() == http::status::forbidden &&
            response.body().find("certificate") != std::string::npos)
            throw Error(ErrorKind::unauthorized,
                        "the master refused us: it needs our TLS client certificate (--tls-cert "
                        "signed by its --tls-ca)");
        if (response.result() == http::status::forbidden)
            throw Error(ErrorKind::unauthorized,
                        "the master refused our cluster token: start every node with the same "
                        "--cluster-token (or the same data dir)");
        // TLS 1.3 checks our certificate after our side of the handshake is done: a
        // refusal arrives here, as an alert.
        if (e.code().category() == net::error::get_ssl_category())
            throw Error(ErrorKind::unauthorized,
                        "the master refused our TLS connection (" + e.code().message() +
                            "): is our --tls-cert signed by the CA the master trusts (--tls-ca)?");
        // Only a declined upgrade has a response to quote: after a timeout or a cut
        // connection `response` holds whatever Beast left in it.
        if (e.code() == websocket::error::upgrade_declined)
            throw Error(ErrorKind::unavailable, "the master refused the stream: HTTP " +
                                                    std::to_string(response.result_int()) + " " +
                                                    response.body());
        throw;
    }
    // A master older than the protocol's version header sends entries we cannot read.
    if (std::string_view proto = response[kStreamProtocolHeader];
        proto != std::to_string(kStreamProtocol))
        throw Error(ErrorKind::conflict,
                    stream_protocol_mismatch("the master", proto, "this replica"));
    const int64_t master_term = adopt_master(response, master_url);
    if (!wants_snapshot_) {
        state_ = FollowerState::following;
        set_error("");
        spdlog::info("following {} from index {}", master_url, position.index);
    }

    auto watch = std::make_shared<SessionWatch>(ws.get_executor());
    watch->tcp = &ws.next_layer().tcp();
    struct EndWatch {
        SessionWatch& watch;
        ~EndWatch() {
            watch.done = true;
            watch.timer.cancel();
        }
    } end_watch{*watch};
    net::co_spawn(ws.get_executor(), watch_term(watch, master_term), net::detached);

    auto superseded = [&] {
        return MasterLost("term " + std::to_string(cluster_.term()) + " has begun: " + master_url +
                          " (master of term " + std::to_string(master_term) +
                          ") is followed no more");
    };
    beast::flat_buffer buffer;
    for (;;) {
        buffer.clear();
        try {
            co_await read_message(ws, buffer);
        } catch (const boost::system::system_error&) {
            if (watch->superseded) throw superseded();
            throw;
        }
        auto bytes = buffer.cdata();  // a flat_buffer holds one contiguous chunk
        std::string_view frame(static_cast<const char*>(bytes.data()), bytes.size());
        // This node has learned of a later term (an announce, the election) while the
        // old master's stream was still open: nothing more from it is applied or acked,
        // or that master could count this node's ack for a write the new one never has.
        if (cluster_.term() > master_term) throw superseded();
        if (ws.got_binary()) {
            if (wants_snapshot_)
                throw Error(ErrorKind::conflict, "entries while waiting for a snapshot");
            bool snapshot_needed = false;
            try {
                applier_.apply(decode_stream_entries(frame));
            } catch (const SnapshotNeeded& e) {
                // The master replaced the whole database (a restore): ask it for a
                // snapshot, which it takes at or after that entry.
                spdlog::info("{}; reconnecting for one", e.what());
                snapshot_needed = true;
            }
            int64_t applied = applier_.position().index;
            if (applied > master_commit_) master_commit_ = applied;
            applied_.advance(applied);
            co_await ws.async_write(net::buffer(encode_stream_ack(applied)), net::use_awaitable);
            if (snapshot_needed) {
                wants_snapshot_ = true;
                co_return;
            }
            continue;
        }
        StreamMessage message = decode_stream_message(frame);
        switch (message.type) {
            case StreamMessage::Type::heartbeat:
                master_commit_ = message.commit_index;
                break;
            case StreamMessage::Type::error:
                throw_refusal(message);
            case StreamMessage::Type::snapshot:
                co_await receive_snapshot(ws, message);
                co_return;  // reconnect from the snapshot's index
        }
    }
}

// Reads the master's next message, failing (beast::error::timeout) after kMasterSilence.
net::awaitable<void> StreamFollower::read_message(websocket::stream<ByteStream>& ws,
                                                  beast::flat_buffer& buffer) {
    beast::tcp_stream& tcp = ws.next_layer().tcp();
    tcp.expires_after(kMasterSilence);
    co_await ws.async_read(buffer, net::use_awaitable);
    tcp.expires_never();
}

// What this node tells the master when it connects.
StreamHello StreamFollower::hello() const {
    const LogPosition& position = applier_.position();
    StreamHello hello;
    hello.node_id = config_.node_id;
    hello.from = position.index;
    if (position.index > 0) hello.hash = position.hash;
    hello.last_term = position.term;
    hello.term = cluster_.term();
    hello.url = config_.advertised_url();
    hello.wants_snapshot = wants_snapshot_;
    return hello;
}

// The master ended the stream: what to do depends on the refusal's kind, never its text.
void StreamFollower::throw_refusal(const StreamMessage& message) {
    switch (message.refusal) {
        case StreamRefusal::diverged:
            // Our history is not a prefix of the master's: resync.
            throw Error(ErrorKind::diverged, message.error);
        case StreamRefusal::stale_term:
            throw MasterLost("the master's term is over: " + message.error);
        case StreamRefusal::master_behind:
            throw Error(ErrorKind::conflict,
                        "the master is behind this replica and takes no writes: " + message.error);
        case StreamRefusal::other:
            break;
    }
    throw Error(ErrorKind::conflict, "the master ended the stream: " + message.error);
}

// Takes the master's term from its upgrade answer: never one older than ours (that node
// was master once, and another has been since), a later one is ours from now on.
int64_t StreamFollower::adopt_master(const websocket::response_type& response,
                                     const std::string& url) {
    int64_t term = header_int(response, kTermHeader);
    int id = static_cast<int>(header_int(response, kStreamNodeHeader));
    if (term < 1) throw Error(ErrorKind::conflict, "the master's upgrade answer has no term");
    if (term < cluster_.term())
        throw MasterLost(url + " is master of term " + std::to_string(term) +
                         ", older than this node's " + std::to_string(cluster_.term()));
    cluster_.raise_term(term);
    cluster_.set_master(id, url, term);
    return term;
}

// Receives the snapshot's bytes into a file next to the database, checks the file's
// checksum and the snapshot's own log, and installs it. A transfer cut off half way
// throws: the partial file is overwritten by the next attempt.
net::awaitable<void> StreamFollower::receive_snapshot(websocket::stream<ByteStream>& ws,
                                                      const StreamMessage& announcement) {
    std::string path = temp_path(config_.database_path(), "incoming-snapshot.db");
    spdlog::info("receiving a snapshot at index {} ({} bytes)",
                 announcement.snapshot_position.index, announcement.snapshot_bytes);
    FileChecksum checksum;  // of the bytes as they arrive: the file is not read again
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        uint64_t received = 0;
        beast::flat_buffer buffer;
        while (received < announcement.snapshot_bytes) {
            buffer.clear();
            co_await read_message(ws, buffer);
            if (ws.got_text()) throw Error(ErrorKind::conflict, "snapshot transfer interrupted");
            auto chunk = buffer.data();  // a flat_buffer holds one contiguous chunk
            out.write(static_cast<const char*>(chunk.data()),
                      static_cast<std::streamsize>(chunk.size()));
            checksum.update(chunk.data(), chunk.size());
            received += buffer.size();
        }
        out.close();
        if (!out || received != announcement.snapshot_bytes)
            throw Error(ErrorKind::conflict, "cannot store the snapshot in " + path);
    }
    if (std::string sum = checksum.hex(); sum != announcement.snapshot_checksum)
        throw Error(ErrorKind::conflict, "the snapshot arrived damaged (checksum " + sum +
                                             ", expected " + announcement.snapshot_checksum + ")");
    LogPosition position = verify_snapshot(path);
    if (position.index != announcement.snapshot_position.index ||
        position.hash != announcement.snapshot_position.hash)
        throw Error(ErrorKind::conflict, "the snapshot does not hold the position announced");

    applier_.install_snapshot(path);
    std::filesystem::remove(path);
    applied_.reset(position.index);
    wants_snapshot_ = false;
    ++resyncs_;
    cluster_.count_snapshot();
    state_ = FollowerState::following;
    set_error("");
    spdlog::info("installed a snapshot at index {}", position.index);
}

}  // namespace sqlrep::replica
