// bench: measures sqlrep on this machine. Starts a 3-node cluster on free 127.0.0.1 ports
// (or targets one with --nodes) plus a lone master as the single-node baseline, and
// reports replicated writes/s, point reads/s on a replica, latency percentiles,
// replication lag, catch-up rate and the master's peak RSS; with --compare dqlite it also
// runs a 3-node dqlite-demo cluster under the same load, alternating the two systems, and
// prints each figure as a sqlrep/dqlite ratio. docs/PERFORMANCE.md explains the method.
// --failover N measures only failover instead (failover.hpp): the master (and dqlite's
// leader) SIGKILLed N times under load.
// Exit status: 0 done, 1 a node could not be started or bad usage, 130 interrupted.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "bench_options.hpp"
#include "bench_runner.hpp"
#include "changes_bench.hpp"
#include "interrupt.hpp"
#include "report.hpp"
#include "scale_bench.hpp"
#include "shared/build_info.hpp"
#include "shared/tls_context.hpp"

namespace {

// The directory this executable lives in: master and replica are built next to it.
std::string own_dir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : exe.parent_path().string();
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> parts;
    std::string part;
    for (char c : text + ",") {
        if (c != ',') {
            part += c;
        } else if (!part.empty()) {
            parts.push_back(part.find("://") == std::string::npos ? "http://" + part : part);
            part.clear();
        }
    }
    return parts;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sqlrep::bench;
    BenchOptions options;
    options.bin_dir = own_dir();
    std::string nodes;
    CLI::App app{
        "Benchmark sqlrep: writes/s, reads/s, latency, replication lag, catch-up rate "
        "and master RSS; --compare dqlite for ratios against a dqlite cluster."};
    app.set_version_flag("--version", sqlrep::build_info::version_line("bench"));
    app.add_option("--ack", options.ack, "Ack mode of the replicated write measurement")
        ->check(CLI::IsMember({"master", "quorum", "all"}))
        ->capture_default_str();
    app.add_option("--concurrency", options.concurrency, "Client threads per measurement")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--duration", options.duration_s, "Seconds per measurement")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
    app.add_option("--rounds", options.rounds,
                   "Alternating sqlrep/dqlite rounds with --compare (figures are pooled)")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    app.add_option("--catchup-entries", options.catch_up_entries,
                   "Entries a SIGSTOPped replica must catch up on (0 skips it)")
        ->check(CLI::Range(int64_t{0}, int64_t{100000000}))
        ->capture_default_str();
    app.add_option("--keys", options.keyspace, "Distinct keys written and read")
        ->check(CLI::Range(int64_t{1}, int64_t{10000000}))
        ->capture_default_str();
    app.add_option("--sync", options.sync, "SQLite synchronous of the nodes bench starts")
        ->check(CLI::IsMember({"full", "normal"}))
        ->capture_default_str();
    auto* nodes_option =
        app.add_option("--nodes", nodes,
                       "Target a running cluster instead: master URL first, then replicas, "
                       "comma-separated (no lone-master baseline, catch-up or RSS then)");
    app.add_option("--compare", options.compare, "Also measure another system: dqlite")
        ->check(CLI::IsMember({"dqlite"}));
    auto* failover =
        app.add_option("--failover", options.failover_rounds,
                       "Measure only failover: SIGKILL the master (with --compare dqlite also "
                       "dqlite's leader) this many times under load; time to the first write "
                       "and acknowledged writes lost (starts etcd)")
            ->check(CLI::Range(1, 1000));
    std::string token = std::getenv("SQLREP_TOKEN") ? std::getenv("SQLREP_TOKEN") : "";
    std::string tls_ca;
    app.add_option("--token", token,
                   "Client token for --nodes started with --auth (admin role: bench creates "
                   "its table); default $SQLREP_TOKEN");
    app.add_option("--tls-ca", tls_ca,
                   "PEM CA to verify https --nodes against (without it https is not verified)");
    app.add_flag("--changes", options.changes,
                 "Measure only the change feed: quorum writes with and without one GET "
                 "/changes consumer on a replica, and its delay behind the master");
    app.add_option("--changes-feed", options.changes_feed,
                   "How the --changes consumer reads: sse or websocket")
        ->check(CLI::IsMember({"sse", "websocket"}))
        ->capture_default_str();
    app.add_flag("--json", options.json, "Print the results as one JSON object");
    app.add_option("--bin-dir", options.bin_dir, "Where the master and replica binaries are")
        ->capture_default_str();
    int64_t scale_mb = 0;
    auto* scale =
        app.add_option("--scale", scale_mb,
                       "Measure only backups on a big database: fill a 3-node cluster with this "
                       "many MB, then GET /backup under write load beside the disk's own speed "
                       "(scale_bench.hpp)")
            ->check(CLI::Range(int64_t{8}, int64_t{1} << 20));
    failover->excludes(nodes_option);
    scale->excludes(nodes_option);
    scale->excludes(failover);
    CLI11_PARSE(app, argc, argv);

    options.nodes = split_commas(nodes);
    options.client.bearer_token = token;
    try {
        sqlrep::TlsFiles files;
        files.ca = tls_ca;
        if (!tls_ca.empty()) options.client.tls = sqlrep::make_client_tls(files);
    } catch (const std::exception& e) {
        std::cerr << "bench: " << e.what() << '\n';
        return 1;
    }
    for (int i = 0; i < argc; ++i) options.command_line += (i ? " " : "") + std::string(argv[i]);

    interrupt::install();
    try {
        if (scale_mb > 0) {
            run_scale_bench(options, scale_mb, std::cout);
            return 0;
        }
        if (options.changes) {
            run_changes_bench(options, std::cout);
            return 0;
        }
        BenchResults results = run_bench(options);
        if (options.json)
            std::cout << sqlrep::json::serialize(to_json(results, options)) << '\n';
        else
            print_text(std::cout, results, options);
        return 0;
    } catch (const Interrupted&) {
        std::cerr << "bench: interrupted; every node it started is stopped\n";
        return 130;
    } catch (const std::exception& e) {
        std::cerr << "bench: " << e.what() << '\n';
        return 1;
    }
}
