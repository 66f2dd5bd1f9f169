#include "changes_bench.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "interrupt.hpp"
#include "latency_stats.hpp"
#include "load_generator.hpp"
#include "shared/http_client.hpp"
#include "shared/net.hpp"
#include "shared/url.hpp"
#include "sqlrep_cluster.hpp"
#include "workload.hpp"

namespace sqlrep::bench {
namespace {

using namespace std::chrono_literals;

void progress(const std::string& line) { std::cerr << "bench: " << line << std::endl; }

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int64_t exec(const std::string& url, const std::string& sql, const ClientOptions& options) {
    HttpClient client(url, options);
    json::object body{{"command", "exec"}, {"query", sql}};
    HttpResult result = client.post("/", json::serialize(body), {}, 60s);
    if (result.status != 200)
        throw std::runtime_error("exec on " + url + " failed: HTTP " +
                                 std::to_string(result.status) + " " + result.body);
    return json::parse(result.body).at("index").to_number<int64_t>();
}

// A WebSocket consumer of one node's /changes on a thread of its own, recording each
// change's delay behind the master's clock.
class FeedFollower {
  public:
    FeedFollower(const std::string& node_url, int64_t from, const std::string& token) : ws_(ioc_) {
        Url url = parse_url(node_url);
        if (url.scheme != "http") throw std::runtime_error("bench --changes speaks plain http");
        tcp::resolver resolver(ioc_);
        beast::get_lowest_layer(ws_).connect(resolver.resolve(url.host, std::to_string(url.port)));
        if (!token.empty())
            ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& r) {
                r.set(http::field::authorization, "Bearer " + token);
            }));
        ws_.handshake(url.host, "/changes?from=" + std::to_string(from));
        do_read();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~FeedFollower() { stop(); }

    // Stops following; the figures stay.
    void stop() {
        if (!thread_.joinable()) return;
        net::post(ioc_, [this] {
            beast::error_code ignored;
            beast::get_lowest_layer(ws_).socket().close(ignored);
        });
        thread_.join();
    }

    // After stop().
    LatencyStats& delays() { return delays_; }
    int64_t events() const { return events_; }
    const std::string& problem() const { return problem_; }

  private:
    void do_read() {
        ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
            if (ec) {
                if (ec != net::error::operation_aborted && ec != net::error::bad_descriptor)
                    problem_ = ec.message();
                return;
            }
            const int64_t received = now_ms();
            // Only the time is needed: found without parsing the whole event, so that the
            // consumer's own CPU (on the same machine as the nodes) stays small.
            std::string text = beast::buffers_to_string(buffer_.data());
            buffer_.clear();
            static constexpr std::string_view kTime = "\"time_ms\":";
            if (auto at = text.find(kTime); at != std::string::npos) {
                delays_.record(static_cast<double>(
                    received - std::strtoll(text.c_str() + at + kTime.size(), nullptr, 10)));
                ++events_;
            } else if (text.find("\"cutoff\"") != std::string::npos) {
                problem_ = "cut off: " + text;
                return;
            }
            do_read();
        });
    }

    net::io_context ioc_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::thread thread_;
    LatencyStats delays_;
    int64_t events_ = 0;
    std::string problem_;
};

}  // namespace

void run_changes_bench(const BenchOptions& options, std::ostream& out) {
    std::unique_ptr<SqlrepCluster> cluster;
    if (options.nodes.empty()) {
        progress("starting sqlrep: master 2, replica 1 2, replica 2 2 ...");
        cluster = SqlrepCluster::start({options.bin_dir, 2, options.sync, "sqlrep"});
    } else {
        cluster = SqlrepCluster::attach(options.nodes, options.client);
    }
    if (cluster->replica_urls().empty())
        throw std::runtime_error("bench --changes needs a replica to consume from");
    const std::string replica = cluster->replica_urls()[0];
    progress(fmt::format("filling {} keys ...", options.keyspace));
    exec(cluster->master_url(), kSqlrepTableDdl, options.client);
    exec(cluster->master_url(), sqlrep_preload_sql(options.keyspace), options.client);

    auto writes = sqlrep_upsert(options.keyspace, "quorum");
    LoadSpec spec;
    spec.origin = cluster->master_url();
    spec.client = options.client;
    spec.concurrency = options.concurrency;
    spec.duration = std::chrono::milliseconds(static_cast<int64_t>(options.duration_s * 1000));

    LoadResult without, with;
    LatencyStats delays;
    int64_t events = 0;
    for (int round = 1; round <= options.rounds; ++round) {
        interrupt::check();
        progress(fmt::format("round {}/{}, {} clients, {:.0f} s each:", round, options.rounds,
                             options.concurrency, options.duration_s));
        LoadResult alone = run_load(spec, *writes);
        progress(fmt::format("  quorum writes, no consumer         {:>9.0f} ops/s",
                             alone.ok_per_second()));
        without.merge(alone);

        const int64_t from = SqlrepCluster::applied_index(replica, options.client) + 1;
        FeedFollower follower(replica, from, options.client.bearer_token);
        LoadResult followed = run_load(spec, *writes);
        // Let the consumer take the tail of the round before stopping it.
        const int64_t last = SqlrepCluster::applied_index(cluster->master_url(), options.client);
        SqlrepCluster::wait_applied(replica, last, 10s, options.client);
        interrupt::sleep_for(200ms);
        follower.stop();
        if (!follower.problem().empty())
            progress("  the consumer stopped early: " + follower.problem());
        progress(fmt::format(
            "  quorum writes, one /changes consumer {:>9.0f} ops/s  delay p50 {:.1f} ms  p99 "
            "{:.1f} ms ({} changes)",
            followed.ok_per_second(), follower.delays().percentile(0.5),
            follower.delays().percentile(0.99), follower.events()));
        with.merge(followed);
        delays.merge(follower.delays());
        events += follower.events();
    }

    const double ratio =
        without.ok_per_second() > 0 ? with.ok_per_second() / without.ok_per_second() : 0;
    Percentiles d = Percentiles::of(delays);
    if (options.json) {
        json::object o{
            {"command_line", options.command_line},
            {"concurrency", options.concurrency},
            {"duration_s", options.duration_s},
            {"rounds", options.rounds},
            {"writes_per_s_without_consumer", without.ok_per_second()},
            {"writes_per_s_with_consumer", with.ok_per_second()},
            {"ratio", ratio},
            {"write_errors", without.errors + with.errors},
            {"changes_received", events},
            {"delay_ms",
             json::object{{"p50", d.p50}, {"p95", d.p95}, {"p99", d.p99}, {"max", d.max}}}};
        out << json::serialize(o) << '\n';
        return;
    }
    out << fmt::format(
        "bench --changes: {} clients, {} round(s) of {:.0f} s per figure\n"
        "  quorum writes, no consumer:           {:>9.0f} ops/s\n"
        "  quorum writes, one /changes consumer: {:>9.0f} ops/s   ratio {:.3f} ({:+.1f}%)\n"
        "  write errors: {}\n"
        "  consumer on replica 1: {} changes, delay behind the master's time_ms:\n"
        "    p50 {:.1f} ms  p95 {:.1f} ms  p99 {:.1f} ms  max {:.1f} ms\n",
        options.concurrency, options.rounds, options.duration_s, without.ok_per_second(),
        with.ok_per_second(), ratio, (ratio - 1) * 100, without.errors + with.errors, events, d.p50,
        d.p95, d.p99, d.max);
}

}  // namespace sqlrep::bench
