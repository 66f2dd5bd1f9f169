// The `master` and `replica` executables: one node program, built twice with the role it
// starts in (SQLREP_START_AS_MASTER). `master <num_replicas> [flags]` is node 0 and
// starts as master; `replica <id> <num_replicas> [flags]` starts following --master. A
// node may change role while it runs (src/node/node.hpp); its id never changes.

#include <malloc.h>

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "master/sink_factory.hpp"
#include "node/node.hpp"
#include "shared/build_info.hpp"
#include "shared/tls_context.hpp"

using namespace sqlrep;

int main(int argc, char** argv) {
    // Buffers of a megabyte or more (big entries, stream batches, uploads' chunks) are
    // mapped and given back when freed. glibc's default raises this threshold as such
    // buffers come and go, after which they stay in the heap: a master that once carried
    // 8 MB entries kept about 45 MiB more for good (bench --scale).
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    constexpr bool kMaster = SQLREP_START_AS_MASTER;
    NodeConfig config;
    CLI::App app{kMaster ? "sqlrep master: orders every write and streams it to the replicas"
                         : "sqlrep replica: follows the master's log, serves reads, forwards "
                           "writes"};
    app.set_version_flag("--version", build_info::version_line(kMaster ? "master" : "replica"));
    if (!kMaster)
        app.add_option("id", config.node_id, "This node's id, 1..num_replicas")->required();
    app.add_option("num_replicas", config.num_replicas,
                   "Configured number of replicas (quorum is a majority of 1+num_replicas)")
        ->required()
        ->check(CLI::Range(kMaster ? 0 : 1, 64));
    config.http_threads = default_http_threads(/*replica=*/!kMaster);
    add_common_flags(app, config);
    auto* port =
        app.add_option("--port", config.port,
                       kMaster ? "HTTP port (default 8080)" : "HTTP port (default 8080 + id)");
    config.master_url = kMaster ? "" : "http://127.0.0.1:8080";
    if (!kMaster)
        app.add_option("--master", config.master_url, "The master's URL at start")
            ->capture_default_str();
    if (kMaster)
        app.add_option("--restore", config.restore_file,
                       "Boot a new cluster from this SQLite file or SQL dump (gzip or zstd "
                       "compressed too): its data becomes the first entry. The data dir "
                       "must hold no database yet")
            ->check(CLI::ExistingFile);
    CLI11_PARSE(app, argc, argv);
    if (!config.restore_file.empty() && !config.etcd.empty()) {
        std::cerr << "--restore boots one master by itself: start it without --etcd, then "
                     "restart the cluster with --etcd\n";
        return 2;
    }
    if (!kMaster && (config.node_id < 1 || config.node_id > config.num_replicas)) {
        std::cerr << "replica id must be between 1 and num_replicas (" << config.num_replicas
                  << ")\n";
        return 2;
    }
    if (!config.peers.empty() &&
        config.peers.size() != static_cast<std::size_t>(config.num_replicas + 1)) {
        std::cerr << "--peers needs " << config.num_replicas + 1
                  << " URLs, one per node in id order (the master's first)\n";
        return 2;
    }
    if (!config.etcd.empty() && config.peers.empty()) {
        std::cerr << "--etcd needs --peers: every node's URL, in id order\n";
        return 2;
    }
    try {
        master::make_sinks(config);  // only to refuse bad --cdc-* flags now
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    if (port->count() == 0) config.port = static_cast<uint16_t>(8080 + config.node_id);

    setup_logging((kMaster ? "master " : "replica ") + std::to_string(config.node_id),
                  config.log_level);
    try {
        check_tls_files(config.tls);
        std::filesystem::create_directories(config.data_dir);
        Node node(std::move(config), kMaster);
        return node.run();
    } catch (const std::exception& e) {
        spdlog::critical("node failed: {}", e.what());
        return 1;
    }
}
