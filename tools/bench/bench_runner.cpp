#include "bench_runner.hpp"

#include <chrono>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "dqlite_cluster.hpp"
#include "failover.hpp"
#include "interrupt.hpp"
#include "shared/http_client.hpp"
#include "shared/net.hpp"
#include "sqlrep_cluster.hpp"
#include "sqlrep_failover_cluster.hpp"
#include "workload.hpp"

namespace sqlrep::bench {

int64_t exec(const std::string& url, const std::string& sql, const ClientOptions& options) {
    using namespace std::chrono_literals;
    HttpClient client(url, options);
    json::object body{{"command", "exec"}, {"query", sql}};
    HttpResult result = client.post("/", json::serialize(body), {}, 60s);
    if (result.status != 200)
        throw std::runtime_error("exec on " + url + " failed: HTTP " +
                                 std::to_string(result.status) + " " + result.body);
    return json::parse(result.body).at("index").to_number<int64_t>();
}

namespace {

using namespace std::chrono_literals;

void progress(const std::string& line) { std::cerr << "bench: " << line << std::endl; }

// Creates and fills kv on the master, then waits until every replica has it.
void prepare_sqlrep(SqlrepCluster& cluster, int64_t keyspace, const ClientOptions& options) {
    exec(cluster.master_url(), kSqlrepTableDdl, options);
    const int64_t index = exec(cluster.master_url(), sqlrep_preload_sql(keyspace), options);
    for (const auto& url : cluster.replica_urls())
        if (!SqlrepCluster::wait_applied(url, index, 60s, options))
            throw std::runtime_error(url + " did not apply the preload within 60 s");
}

class Runner {
  public:
    explicit Runner(const BenchOptions& options) : options_(options) {
        spec_.concurrency = options.concurrency;
        spec_.duration = std::chrono::milliseconds(static_cast<int64_t>(options.duration_s * 1000));
    }

    BenchResults run();

  private:
    // --failover N: each system in turn, alone on the machine; nothing else is measured.
    BenchResults run_failover();
    // `client`: the token and TLS of the sqlrep nodes, or {} for dqlite.
    LoadResult measure(const std::string& what, const std::string& origin, const Workload& workload,
                       const ClientOptions& client);
    void sample_rss(const std::string& after);

    const BenchOptions& options_;
    LoadSpec spec_;
    BenchResults results_;
    std::unique_ptr<SqlrepCluster> cluster_;
    std::unique_ptr<SqlrepCluster> lone_master_;
    std::unique_ptr<DqliteCluster> dqlite_;
};

LoadResult Runner::measure(const std::string& what, const std::string& origin,
                           const Workload& workload, const ClientOptions& client) {
    LoadSpec spec = spec_;
    spec.origin = origin;
    spec.client = client;
    LoadResult result = run_load(spec, workload);
    progress(fmt::format(
        "  {:<34} {:>9.0f} ops/s  p50 {:.2f} ms  p99 {:.2f} ms{}{}", what, result.ok_per_second(),
        result.latency.percentile(0.5), result.latency.percentile(0.99),
        result.retries ? fmt::format("  ({} retries)", result.retries) : std::string(),
        result.errors ? fmt::format("  ({} errors: {})", result.errors, result.first_error)
                      : std::string()));
    sample_rss(what);
    return result;
}

void Runner::sample_rss(const std::string& after) {
    if (ChildProcess* master = cluster_->master_process())
        results_.master_rss.push_back({after, proc_status_kib(master->pid(), "VmRSS")});
}

BenchResults Runner::run_failover() {
    const int rounds = options_.failover_rounds;
    {
        progress(
            "failover: starting etcd and sqlrep (master 2, replica 1 2, replica 2 2, "
            "--etcd, lease 3000 ms) ...");
        auto cluster = SqlrepFailoverCluster::start(options_.bin_dir, options_.sync);
        progress(
            fmt::format("failover: killing the sqlrep master {} times under load ...", rounds));
        results_.sqlrep_failover = measure_failover(*cluster, rounds);
    }
    if (options_.compare == "dqlite") {
        progress("failover: starting dqlite-demo x3 ...");
        auto cluster = DqliteCluster::start();
        results_.dqlite_version = DqliteCluster::package_version();
        progress(
            fmt::format("failover: killing the dqlite leader {} times under load ...", rounds));
        results_.dqlite_failover = measure_failover(*cluster, rounds);
    }
    return std::move(results_);
}

BenchResults Runner::run() {
    if (options_.failover_rounds > 0) return run_failover();
    const bool compare = options_.compare == "dqlite";
    if (options_.nodes.empty()) {
        progress("starting sqlrep: master 2, replica 1 2, replica 2 2 ...");
        cluster_ = SqlrepCluster::start({options_.bin_dir, 2, options_.sync, "sqlrep"});
        progress("starting the single-node baseline: master 0 ...");
        lone_master_ = SqlrepCluster::start({options_.bin_dir, 0, options_.sync, "lone"});
    } else {
        progress("targeting " + options_.nodes[0] + " and " +
                 std::to_string(options_.nodes.size() - 1) + " replica(s)");
        cluster_ = SqlrepCluster::attach(options_.nodes, options_.client);
    }
    if (compare) {
        progress("starting dqlite-demo x3 ...");
        dqlite_ = DqliteCluster::start();
        results_.dqlite_version = DqliteCluster::package_version();
    }

    progress(fmt::format("filling {} keys ...", options_.keyspace));
    prepare_sqlrep(*cluster_, options_.keyspace, options_.client);
    if (lone_master_) prepare_sqlrep(*lone_master_, options_.keyspace, {});
    if (dqlite_) dqlite_->run_sql(dqlite_preload_sql(options_.keyspace));
    sample_rss("start");

    const std::string read_url =
        cluster_->replica_urls().empty() ? cluster_->master_url() : cluster_->replica_urls()[0];
    auto writes = sqlrep_upsert(options_.keyspace, options_.ack);
    auto reads = sqlrep_point_read(options_.keyspace);
    auto master_acked = sqlrep_upsert(options_.keyspace, "master");
    auto lone_writes = sqlrep_upsert(options_.keyspace, "");
    auto puts = dqlite_put(options_.keyspace);
    auto gets = dqlite_get(options_.keyspace);

    const int rounds = compare ? options_.rounds : 1;
    for (int round = 1; round <= rounds; ++round) {
        progress(fmt::format("round {}/{}, {} clients, {:.0f} s each:", round, rounds,
                             options_.concurrency, options_.duration_s));
        results_.sqlrep_writes.merge(measure("sqlrep writes ack=" + options_.ack,
                                             cluster_->master_url(), *writes, options_.client));
        if (dqlite_) {
            auto put = measure("dqlite PUT on the leader", dqlite_->leader_url(), *puts, {});
            if (!results_.dqlite_writes)
                results_.dqlite_writes = std::move(put);
            else
                results_.dqlite_writes->merge(put);
        }
        results_.sqlrep_reads.merge(
            measure("sqlrep point reads on a replica", read_url, *reads, options_.client));
        if (dqlite_) {
            auto get = measure("dqlite GET on a follower", dqlite_->follower_url(), *gets, {});
            if (!results_.dqlite_reads)
                results_.dqlite_reads = std::move(get);
            else
                results_.dqlite_reads->merge(get);
        }
        results_.sqlrep_ack_master_writes.merge(measure(
            "sqlrep writes ack=master", cluster_->master_url(), *master_acked, options_.client));
        if (lone_master_) {
            auto lone = measure("lone master (master 0) writes", lone_master_->master_url(),
                                *lone_writes, {});
            if (!results_.master_only_writes)
                results_.master_only_writes = std::move(lone);
            else
                results_.master_only_writes->merge(lone);
        }
    }
    lone_master_.reset();
    dqlite_.reset();

    if (!cluster_->replica_urls().empty()) {
        progress("replication lag under the same write load ...");
        LagProbe probe(cluster_->master_url(), cluster_->replica_urls(), options_.client);
        probe.start();
        LoadResult loaded;
        try {
            loaded = measure("sqlrep writes + lag probe", cluster_->master_url(), *writes,
                             options_.client);
        } catch (...) {
            probe.stop();
            throw;
        }
        probe.stop();
        results_.lag_phase_writes = std::move(loaded);
        results_.lag = probe.lag();
        results_.lag_read_rtt = probe.read_rtt();
        results_.lag_failures = probe.failures();
        results_.lag_first_failure = probe.first_failure();
        progress(fmt::format("  lag p50 {:.2f} ms  p99 {:.2f} ms ({} samples)",
                             results_.lag.percentile(0.5), results_.lag.percentile(0.99),
                             results_.lag.count()));
    }

    ChildProcess* stopped = cluster_->replica_process(1);
    if (stopped && options_.catch_up_entries > 0) {
        progress(fmt::format("catch-up: SIGSTOP replica 2, write {} entries, SIGCONT ...",
                             options_.catch_up_entries));
        results_.catch_up =
            measure_catch_up(cluster_->master_url(), cluster_->replica_urls()[1], *stopped,
                             options_.catch_up_entries, options_.concurrency, options_.keyspace);
        progress(fmt::format("  {} entries in {:.2f} s: {:.0f} entries/s{}",
                             results_.catch_up->entries, results_.catch_up->seconds,
                             results_.catch_up->entries_per_second(),
                             results_.catch_up->completed ? "" : " (TIMED OUT)"));
        sample_rss("catch-up");
    }
    if (ChildProcess* master = cluster_->master_process())
        results_.master_peak_rss_kib = proc_status_kib(master->pid(), "VmHWM");
    cluster_.reset();
    return std::move(results_);
}

}  // namespace

BenchResults run_bench(const BenchOptions& options) { return Runner(options).run(); }

}  // namespace sqlrep::bench
