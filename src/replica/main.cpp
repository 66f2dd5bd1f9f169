// The `replica` executable: replica <id> <num_replicas> [flags]. It only composes the
// pieces: parse flags, open the database, build the applier, the stream follower, the
// write forwarder and the HTTP routes, listen, and wait for a signal.

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "replica/applier.hpp"
#include "replica/replica_router.hpp"
#include "replica/stream_follower.hpp"
#include "replica/write_forwarder.hpp"
#include "shared/build_info.hpp"
#include "shared/http_server.hpp"
#include "shared/node_runtime.hpp"
#include "shared/tls_context.hpp"
#include "shared/url.hpp"

using namespace sqlrep;
using namespace sqlrep::replica;

int main(int argc, char** argv) {
    NodeConfig config;
    config.master_url = "http://127.0.0.1:8080";
    int forward_threads = 8;
    CLI::App app{"sqlrep replica: follows the master's log, serves reads, forwards writes"};
    app.set_version_flag("--version", sqlrep::build_info::version_line("replica"));
    app.add_option("id", config.node_id, "This replica's id, 1..num_replicas")->required();
    app.add_option("num_replicas", config.num_replicas, "Configured number of replicas")
        ->required()
        ->check(CLI::Range(1, 64));
    config.http_threads = default_http_threads(/*replica=*/true);
    add_common_flags(app, config);
    auto* port = app.add_option("--port", config.port, "HTTP port (default 8080 + id)");
    app.add_option("--master", config.master_url, "The master's URL")->capture_default_str();
    app.add_option("--ready-max-lag", config.ready_max_lag,
                   "GET /ready answers 503 while this replica is more entries than this "
                   "behind the master")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
        ->capture_default_str();
    app.add_option("--forward-threads", forward_threads, "Threads forwarding writes to the master")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (config.node_id < 1 || config.node_id > config.num_replicas) {
        std::cerr << "replica id must be between 1 and num_replicas (" << config.num_replicas
                  << ")\n";
        return 2;
    }
    if (port->count() == 0) config.port = static_cast<uint16_t>(8080 + config.node_id);

    setup_logging("replica " + std::to_string(config.node_id), config.log_level);
    try {
        Url master = parse_url(config.master_url);
        check_tls_files(config.tls);
        std::shared_ptr<ssl::context> server_tls;
        if (config.tls.enabled()) server_tls = make_server_tls(config.tls);
        // Towards the master: verify it against --tls-ca, present our own certificate.
        std::shared_ptr<ssl::context> master_tls;
        if (master.scheme == "https") {
            master_tls = make_client_tls(config.tls);
            if (config.tls.ca.empty())
                spdlog::warn(
                    "not verifying the master's certificate (no --tls-ca): the "
                    "connection is encrypted but not authenticated");
        }
        std::filesystem::create_directories(config.data_dir);
        std::string token = resolve_cluster_token(config, /*create_if_missing=*/true);

        auto writer = std::make_unique<Connection>(config.database_path(), Connection::Mode::writer,
                                                   config.sync);
        writer->checkpoint_in_background();
        Applier applier(std::move(writer), config.log_retain);
        IoThreads io(config.http_threads);
        net::io_context& ioc = io.main();
        IndexWatch applied(ioc, applier.position().index);
        ReadPool reads(config.database_path(), config.read_connections);
        WriteForwarder forwarder(config.master_url, master_tls, token, config.node_id,
                                 forward_threads,
                                 std::chrono::milliseconds(config.wait_timeout_ms * 2));
        StreamFollower follower(config, master_tls, token, applier, applied);
        ReplicaRouter router(config, token, reads, applied, follower, forwarder, applier);
        auto listener = std::make_shared<HttpListener>(
            io, tcp::endpoint(net::ip::make_address(config.host), config.port), router,
            config.http_limits(), server_tls);

        follower.start();
        listener->run();
        spdlog::info("replica {} ready on {} (index {}, master {}, data {})", config.node_id,
                     config.advertised_url(), applier.position().index, config.master_url,
                     config.database_path());
        run_until_signal(
            io, [&] { listener->stop(); }, [&] { return router.in_flight(); },
            std::chrono::milliseconds(config.ack_timeout_ms + config.wait_timeout_ms));
        follower.stop();
        forwarder.stop();
        reads.stop();
        spdlog::info("replica {} stopped at index {}", config.node_id, applied.value());
    } catch (const std::exception& e) {
        spdlog::critical("replica failed: {}", e.what());
        return 1;
    }
    return 0;
}
