#include "changes_bench.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

#include "bench_runner.hpp"
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

// A consumer of one node's /changes (SSE or WebSocket) on a thread of its own, recording
// each change's delay behind the master's clock.
class FeedFollower {
  public:
    FeedFollower(const std::string& node_url, int64_t from, const std::string& token, bool sse)
        : sse_(sse), ws_(ioc_) {
        Url url = parse_url(node_url);
        if (url.scheme != "http") throw std::runtime_error("bench --changes speaks plain http");
        tcp::resolver resolver(ioc_);
        beast::get_lowest_layer(ws_).connect(resolver.resolve(url.host, std::to_string(url.port)));
        const std::string target = "/changes?from=" + std::to_string(from);
        if (sse) {
            std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + url.host + "\r\n";
            if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
            request += "Accept: text/event-stream\r\n\r\n";
            net::write(beast::get_lowest_layer(ws_), net::buffer(request));
            do_read_sse();
        } else {
            if (!token.empty())
                ws_.set_option(
                    websocket::stream_base::decorator([token](websocket::request_type& r) {
                        r.set(http::field::authorization, "Bearer " + token);
                    }));
            ws_.handshake(url.host, target);
            do_read();
        }
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
    // Only the time is needed: found without parsing the whole event, so that the
    // consumer's own CPU (on the same machine as the nodes) stays small.
    bool take(std::string_view event, int64_t received) {
        static constexpr std::string_view kTime = "\"time_ms\":";
        if (auto at = event.find(kTime); at != std::string_view::npos) {
            int64_t time_ms = 0;
            auto begin = event.data() + at + kTime.size();
            std::from_chars(begin, event.data() + event.size(), time_ms);
            delays_.record(static_cast<double>(received - time_ms));
            ++events_;
        } else if (event.find("\"cutoff\"") != std::string_view::npos) {
            problem_ = "cut off: " + std::string(event);
            return false;
        }
        return true;
    }

    void ended(beast::error_code ec) {
        if (ec != net::error::operation_aborted && ec != net::error::bad_descriptor)
            problem_ = ec.message();
    }

    void do_read() {
        ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
            if (ec) return ended(ec);
            const int64_t received = now_ms();
            std::string text = beast::buffers_to_string(buffer_.data());
            buffer_.clear();
            if (take(text, received)) do_read();
        });
    }

    // SSE: the response head, then "data: {...}" lines; each whole line is one event.
    void do_read_sse() {
        beast::get_lowest_layer(ws_).async_read_some(
            net::buffer(chunk_), [this](beast::error_code ec, std::size_t n) {
                if (ec) return ended(ec);
                const int64_t received = now_ms();
                pending_.append(chunk_.data(), n);
                std::size_t start = 0, eol;
                while ((eol = pending_.find('\n', start)) != std::string::npos) {
                    std::string_view line(pending_.data() + start, eol - start);
                    start = eol + 1;
                    if (line.substr(0, 6) == "data: " && !take(line, received)) return;
                }
                pending_.erase(0, start);
                do_read_sse();
            });
    }

    const bool sse_;
    net::io_context ioc_;
    websocket::stream<beast::tcp_stream> ws_;  // SSE reads its TCP layer directly
    beast::flat_buffer buffer_;
    std::array<char, 65536> chunk_{};
    std::string pending_;
    std::thread thread_;
    LatencyStats delays_;
    int64_t events_ = 0;
    std::string problem_;
};

// CPU time (user + system) a process has used so far, in ms; 0 when unknown.
double cpu_ms(ChildProcess* process) {
    if (!process) return 0;
    std::ifstream stat("/proc/" + std::to_string(process->pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {  // field 3 is the state; utime 14, stime 15
        if (i == 14) utime = std::stod(field);
        if (i == 15) {
            stime = std::stod(field);
            break;
        }
    }
    return (utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

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
    // Replica 1's CPU during each kind of phase (0 with --nodes): what the consumer costs
    // the node that serves it, per write, whatever else the machine is doing.
    double replica_cpu_without = 0, replica_cpu_with = 0;
    for (int round = 1; round <= options.rounds; ++round) {
        interrupt::check();
        progress(fmt::format("round {}/{}, {} clients, {:.0f} s each:", round, options.rounds,
                             options.concurrency, options.duration_s));
        const double cpu_before = cpu_ms(cluster->replica_process(0));
        LoadResult alone = run_load(spec, *writes);
        replica_cpu_without += cpu_ms(cluster->replica_process(0)) - cpu_before;
        progress(fmt::format("  quorum writes, no consumer         {:>9.0f} ops/s",
                             alone.ok_per_second()));
        without.merge(alone);

        const int64_t from = SqlrepCluster::applied_index(replica, options.client) + 1;
        FeedFollower follower(replica, from, options.client.bearer_token,
                              options.changes_feed == "sse");
        const double cpu_start = cpu_ms(cluster->replica_process(0));
        LoadResult followed = run_load(spec, *writes);
        replica_cpu_with += cpu_ms(cluster->replica_process(0)) - cpu_start;
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
    auto per_1000 = [](double cpu, const LoadResult& r) {
        return r.ok > 0 ? cpu * 1000.0 / static_cast<double>(r.ok) : 0.0;
    };
    const double cpu_without = per_1000(replica_cpu_without, without);
    const double cpu_with = per_1000(replica_cpu_with, with);
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
            {"replica_cpu_ms_per_1000_writes_without", cpu_without},
            {"replica_cpu_ms_per_1000_writes_with", cpu_with},
            {"delay_ms",
             json::object{{"p50", d.p50}, {"p95", d.p95}, {"p99", d.p99}, {"max", d.max}}}};
        out << json::serialize(o) << '\n';
        return;
    }
    out << fmt::format(
        "bench --changes ({}): {} clients, {} round(s) of {:.0f} s per figure\n"
        "  quorum writes, no consumer:           {:>9.0f} ops/s\n"
        "  quorum writes, one /changes consumer: {:>9.0f} ops/s   ratio {:.3f} ({:+.1f}%)\n"
        "  replica 1 CPU per 1000 writes: {:.0f} ms without, {:.0f} ms with the consumer\n"
        "  write errors: {}\n"
        "  consumer on replica 1: {} changes, delay behind the master's time_ms:\n"
        "    p50 {:.1f} ms  p95 {:.1f} ms  p99 {:.1f} ms  max {:.1f} ms\n",
        options.changes_feed, options.concurrency, options.rounds, options.duration_s,
        without.ok_per_second(), with.ok_per_second(), ratio, (ratio - 1) * 100, cpu_without,
        cpu_with, without.errors + with.errors, events, d.p50, d.p95, d.p99, d.max);
}

}  // namespace sqlrep::bench
