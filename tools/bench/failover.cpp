#include "failover.hpp"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "interrupt.hpp"
#include "plain_http_connection.hpp"
#include "shared/error.hpp"
#include "shared/url.hpp"

namespace sqlrep::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

void progress(const std::string& line) { std::cerr << "bench: " << line << std::endl; }

// The load threads of one measurement. The main thread steers them (exclude(), mark_kill())
// and reads their counters; keys() only once stop() has joined them.
class FailoverLoad {
  public:
    FailoverLoad(const FailoverTarget& target, std::string key_prefix)
        : target_(target), key_prefix_(std::move(key_prefix)) {}
    ~FailoverLoad() { stop(); }
    FailoverLoad(const FailoverLoad&) = delete;
    FailoverLoad& operator=(const FailoverLoad&) = delete;

    void start() {
        keys_.resize(kClients);
        for (int i = 0; i < kClients; ++i) threads_.emplace_back([this, i] { work(i); });
    }
    void stop() {
        stopping_ = true;
        for (auto& thread : threads_) thread.join();
        threads_.clear();
    }

    // The node the threads leave alone (-1: none).
    void exclude(int node) { excluded_ = node; }
    // From now on only writes sent after this call count for first_write_ns().
    void mark_kill() {
        first_ok_ns_ = kNever;
        killed_ns_ = now_ns();
        std::lock_guard lock(mutex_);
        first_failure_.clear();
    }
    int64_t killed_ns() const { return killed_ns_; }
    // When the first write sent after mark_kill() was acknowledged; kNever until then.
    int64_t first_write_ns() const { return first_ok_ns_; }
    int64_t acked() const { return acked_; }
    int64_t failed() const { return failed_; }
    std::string first_failure() const {
        std::lock_guard lock(mutex_);
        return first_failure_;
    }
    // Every acknowledged key; call after stop().
    std::vector<std::string> keys() const {
        std::vector<std::string> all;
        for (const auto& mine : keys_) all.insert(all.end(), mine.begin(), mine.end());
        return all;
    }

  private:
    void work(int thread) {
        const auto& urls = target_.node_urls();
        const int nodes = static_cast<int>(urls.size());
        std::vector<std::unique_ptr<PlainHttpConnection>> connections(urls.size());
        const std::string value(kValueBytes, 'f');
        Request request;
        int64_t seq = 0;
        for (int turn = thread; !stopping_; ++turn) {
            const int node = turn % nodes;
            if (node == excluded_) continue;
            auto& connection = connections[static_cast<size_t>(node)];
            if (!connection)
                connection = std::make_unique<PlainHttpConnection>(
                    parse_url(urls[static_cast<size_t>(node)]), "", kRequestTimeout);
            const std::string key = fmt::format("{}{}-{}", key_prefix_, thread, seq++);
            target_.write(request, key, value);
            const int64_t sent = now_ns();
            std::string failure;
            try {
                HttpResult result = connection->request(request);
                if (target_.write_succeeded(result)) {
                    const int64_t done = now_ns();
                    keys_[static_cast<size_t>(thread)].push_back(key);
                    ++acked_;
                    if (sent >= killed_ns_) {
                        int64_t first = first_ok_ns_;
                        while (done < first && !first_ok_ns_.compare_exchange_weak(first, done)) {
                        }
                    }
                    continue;
                }
                failure = fmt::format("HTTP {} {}", result.status, result.body.substr(0, 200));
            } catch (const std::exception& e) {
                failure = e.what();
            }
            ++failed_;
            while (!failure.empty() && failure.back() == '\n') failure.pop_back();
            {
                std::lock_guard lock(mutex_);
                if (first_failure_.empty() && sent >= killed_ns_)
                    first_failure_ = fmt::format("via node {}: {}", node, failure);
            }
            std::this_thread::sleep_for(kFailurePause);
        }
    }

    const FailoverTarget& target_;
    const std::string key_prefix_;
    std::vector<std::thread> threads_;
    // keys_[i]: thread i's only, until stop() has joined it
    std::vector<std::vector<std::string>> keys_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> excluded_{-1};
    std::atomic<int64_t> killed_ns_{kNever};
    std::atomic<int64_t> first_ok_ns_{kNever};
    std::atomic<int64_t> acked_{0};
    std::atomic<int64_t> failed_{0};
    mutable std::mutex mutex_;
    std::string first_failure_;  // guarded by mutex_
};

}  // namespace

FailoverResult measure_failover(FailoverTarget& target, int rounds) {
    FailoverResult result;
    result.system = target.system();
    const std::string prefix = "failover-";
    FailoverLoad load(target, prefix);
    int leader = target.wait_healthy(kHealthyTimeout);
    load.start();
    for (int round = 1; round <= rounds; ++round) {
        FailoverRound r;
        const int64_t acked_before = load.acked();
        const int64_t failed_before = load.failed();
        interrupt::sleep_for(kLoadBefore);

        r.killed = leader;
        load.exclude(leader);
        load.mark_kill();
        target.kill_node(leader);
        while (load.first_write_ns() == kNever) {
            if (now_ns() - load.killed_ns() > kRecoveryTimeout.count() * 1000000)
                throw std::runtime_error(fmt::format(
                    "{}: no write acknowledged within {} s of killing node {} (last failure: {})",
                    result.system, kRecoveryTimeout.count() / 1000, leader, load.first_failure()));
            interrupt::sleep_for(std::chrono::milliseconds(5));
        }
        r.first_write_ms = static_cast<double>(load.first_write_ns() - load.killed_ns()) / 1e6;
        r.first_failure = load.first_failure();
        interrupt::sleep_for(kLoadAfter);

        target.restart_node(leader);
        leader = target.wait_healthy(kHealthyTimeout);
        load.exclude(-1);
        r.next_leader = leader;
        r.acked = load.acked() - acked_before;
        r.failed = load.failed() - failed_before;
        result.first_write_ms.record(r.first_write_ms);
        progress(fmt::format(
            "  {} round {}/{}: killed node {}, first write {:.0f} ms after; node {} leads; "
            "{} acked, {} failed{}",
            result.system, round, rounds, r.killed, r.first_write_ms, r.next_leader, r.acked,
            r.failed, r.first_failure.empty() ? "" : " (e.g. " + r.first_failure + ")"));
        result.rounds.push_back(std::move(r));
    }
    load.stop();

    const std::set<std::string> stored = target.stored_keys(prefix);
    for (const auto& key : load.keys()) {
        ++result.acked;
        if (!stored.count(key)) {
            if (result.lost++ == 0) result.first_lost = key;
        }
    }
    progress(fmt::format("  {}: {} acknowledged writes, {} of them lost", result.system,
                         result.acked, result.lost));
    return result;
}

}  // namespace sqlrep::bench
