// The `master` executable: master <num_replicas> [flags]. It only composes the pieces:
// parse flags, open the database and its log, build the sequencer, the replica registry
// and the HTTP routes over them, listen, and wait for a signal.

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "master/entry_ring.hpp"
#include "master/master_router.hpp"
#include "master/replica_registry.hpp"
#include "master/sequencer.hpp"
#include "shared/build_info.hpp"
#include "shared/http_server.hpp"
#include "shared/node_runtime.hpp"
#include "shared/replication_log.hpp"
#include "shared/tls_context.hpp"

using namespace sqlrep;
using namespace sqlrep::master;

namespace {
// The stream ring: the last 8192 entries or 16 MiB of them, whichever is less. Replicas
// further behind read the log.
constexpr std::size_t kRingEntries = 8192;
constexpr std::size_t kRingBytes = 16 * 1024 * 1024;
}  // namespace

int main(int argc, char** argv) {
    NodeConfig config;
    CLI::App app{"sqlrep master: orders every write and streams it to the replicas"};
    app.set_version_flag("--version", sqlrep::build_info::version_line("master"));
    app.add_option("num_replicas", config.num_replicas,
                   "Configured number of replicas (quorum is a majority of 1+num_replicas)")
        ->required()
        ->check(CLI::Range(0, 64));
    config.http_threads = default_http_threads(/*replica=*/false);
    add_common_flags(app, config);
    app.add_option("--port", config.port, "HTTP port")->capture_default_str();
    app.add_option("--ack", config.default_ack, "Default ack mode for writes: master, quorum, all")
        ->transform(CLI::CheckedTransformer(std::map<std::string, AckMode>{
            {"master", AckMode::master}, {"quorum", AckMode::quorum}, {"all", AckMode::all}}))
        ->capture_default_str();
    app.add_option("--ack-timeout-ms", config.ack_timeout_ms,
                   "How long a write waits for its acks before a 504")
        ->check(CLI::Range(1, 3600000))
        ->capture_default_str();
    bool foreign_keys = false;
    app.add_flag("--foreign-keys", foreign_keys,
                 "Enforce foreign keys (and run their ON DELETE/UPDATE actions) on writes");
    CLI11_PARSE(app, argc, argv);

    setup_logging("master", config.log_level);
    try {
        check_tls_files(config.tls);
        std::shared_ptr<ssl::context> server_tls;
        if (config.tls.enabled()) server_tls = make_server_tls(config.tls);
        std::filesystem::create_directories(config.data_dir);
        std::string token = resolve_cluster_token(config, /*create_if_missing=*/true);

        auto writer = std::make_unique<Connection>(config.database_path(), Connection::Mode::writer,
                                                   config.sync);
        writer->checkpoint_in_background();
        // Only the master enforces them: their actions reach replicas as effects.
        if (foreign_keys) writer->exec_internal("PRAGMA foreign_keys = ON");
        ensure_log_schema(*writer);
        int64_t term = 1;
        if (auto stored = read_meta(*writer, "term"))
            term = std::stoll(*stored);
        else
            write_meta(*writer, "term", std::to_string(term));
        LogPosition last = last_log_position(*writer);

        IoThreads io(config.http_threads);
        net::io_context& ioc = io.main();
        IndexWatch committed(ioc, last.index);
        ReplicaRegistry registry(ioc, config.num_replicas);
        ReadPool reads(config.database_path(), config.read_connections);
        // Recent entries, encoded once, streamed from memory (and during the fsync).
        EntryRing ring(kRingEntries, kRingBytes);
        Sequencer sequencer(std::move(writer), term,
                            std::chrono::milliseconds(config.query_timeout_ms), [&](int64_t index) {
                                committed.advance(index);
                                registry.notify_commit();
                            });
        sequencer.set_publisher(
            [&](const std::vector<Entry>& entries) {
                ring.publish(entries);
                registry.notify_entries();
            },
            [&](int64_t index) {
                // Streamed but never committed: replicas that took them must be checked
                // again, and will find themselves ahead of the master and resync. Their
                // acks of those indexes go too: later entries re-use the indexes.
                if (ring.retract(index)) registry.retract(index);
            });
        sequencer.set_trim_floor(
            [&] { return registry.trim_floor(committed.value(), config.log_retain); });
        MasterRouter router(config, token, reads, committed, sequencer, registry, ring);
        auto listener = std::make_shared<HttpListener>(
            io, tcp::endpoint(net::ip::make_address(config.host), config.port), router,
            config.http_limits(), server_tls);

        sequencer.start();
        listener->run();
        spdlog::info("master ready on {} (term {}, index {}, {} replica(s), ack={}, data {}{})",
                     config.advertised_url(), term, last.index, config.num_replicas,
                     ack_mode_name(config.default_ack), config.database_path(),
                     config.tls.ca.empty() ? "" : ", mutual TLS");
        run_until_signal(
            io, [&] { listener->stop(); }, [&] { return router.in_flight(); },
            std::chrono::milliseconds(config.ack_timeout_ms + config.wait_timeout_ms));
        sequencer.stop();
        reads.stop();
        spdlog::info("master stopped at index {}", committed.value());
    } catch (const std::exception& e) {
        spdlog::critical("master failed: {}", e.what());
        return 1;
    }
    return 0;
}
