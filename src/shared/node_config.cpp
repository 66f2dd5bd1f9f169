#include "shared/node_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include "shared/error.hpp"

namespace sqlrep {

int default_http_threads(bool replica) {
    int cores = static_cast<int>(std::thread::hardware_concurrency());
    return std::max(1, replica ? cores : cores / 2);
}

std::string NodeConfig::database_path() const {
    std::string name = node_id == 0 ? "master.db" : "replica_" + std::to_string(node_id) + ".db";
    return (std::filesystem::path(data_dir) / name).string();
}

HttpLimits NodeConfig::http_limits() const {
    HttpLimits limits;
    limits.max_body_bytes = max_body_bytes;
    limits.header_timeout = std::chrono::milliseconds(header_timeout_ms);
    limits.body_timeout = std::chrono::milliseconds(body_timeout_ms);
    limits.max_connections = max_connections;
    return limits;
}

RequestLimits NodeConfig::request_limits() const {
    RequestLimits limits;
    limits.max_json_depth = max_json_depth;
    return limits;
}

std::string NodeConfig::advertised_url() const {
    return (tls.enabled() ? "https://" : "http://") + host + ":" + std::to_string(port);
}

void add_common_flags(CLI::App& app, NodeConfig& config) {
    app.add_option("--host", config.host, "Address to listen on")->capture_default_str();
    app.add_option("--data-dir", config.data_dir, "Directory for the database files")
        ->capture_default_str();
    app.add_option("--cluster-token", config.cluster_token,
                   "Shared secret for node-to-node traffic (also $SQLREP_CLUSTER_TOKEN; "
                   "default: <data-dir>/cluster.token, created by the master)");
    app.add_option("--sync", config.sync,
                   "SQLite synchronous mode: full survives power loss, normal survives a "
                   "process crash")
        ->transform(CLI::CheckedTransformer(std::map<std::string, SyncMode>{
            {"full", SyncMode::full}, {"normal", SyncMode::normal}}))
        ->capture_default_str();
    app.add_option("--log-retain", config.log_retain,
                   "Log entries kept beyond what every replica has acked (a replica further "
                   "behind gets a snapshot)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
        ->capture_default_str();
    app.add_option("--archive-dir", config.archive_dir,
                   "Continuous archive: while master, write snapshots and every log entry "
                   "(zstd) into this directory for point-in-time recovery (build/bin/restore)");
    app.add_option("--archive-interval", config.archive_interval_ms,
                   "Archive: milliseconds between segment writes; an entry reaches the archive "
                   "within this plus the time to write one segment")
        ->check(CLI::Range(10, 3600 * 1000))
        ->capture_default_str();
    app.add_option("--archive-snapshot-every", config.archive_snapshot_every,
                   "Archive: entries between two archived snapshots")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
        ->capture_default_str();
    app.add_option("--archive-retention", config.archive_retention,
                   "Archive: snapshots kept (older ones, and segments only they needed, are "
                   "deleted); 0 keeps everything")
        ->check(CLI::Range(0, 1000000))
        ->capture_default_str();
    app.add_option("--http-threads", config.http_threads,
                   "I/O threads serving HTTP, one io_context each (default: a replica one per "
                   "CPU core, a master half the cores, at least 1)")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--read-connections", config.read_connections,
                   "Read-only SQLite connections (and threads) serving queries")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--max-body-bytes", config.max_body_bytes, "Largest request body (413 beyond)")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{kMaxValueBytes / 2}))
        ->capture_default_str();
    app.add_option("--query-timeout-ms", config.query_timeout_ms,
                   "A statement running longer is interrupted")
        ->check(CLI::Range(1, 3600000))
        ->capture_default_str();
    app.add_option("--wait-timeout-ms", config.wait_timeout_ms,
                   "Bound on waits for min_index and for forwarded writes to apply locally")
        ->check(CLI::Range(1, 3600000))
        ->capture_default_str();
    app.add_option("--max-result-rows", config.max_result_rows, "Most rows one request returns")
        ->capture_default_str();
    app.add_option("--max-result-bytes", config.max_result_bytes,
                   "Most bytes one read returns, checked value by value while rows are "
                   "produced; also the longest string or blob a read may build (400/413 "
                   "beyond)")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{kMaxValueBytes}))
        ->capture_default_str();
    app.add_option("--max-json-depth", config.max_json_depth,
                   "Deepest nesting of arrays and objects in a request body (400 beyond)")
        ->check(CLI::Range(2u, 1000u))
        ->capture_default_str();
    app.add_option("--max-connections", config.max_connections,
                   "Open client connections at most; more are closed at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
        ->capture_default_str();
    app.add_option("--header-timeout-ms", config.header_timeout_ms,
                   "A request's headers must arrive within this, also on an idle kept-alive "
                   "connection (slow-client defence)")
        ->check(CLI::Range(100, 3600000))
        ->capture_default_str();
    app.add_option("--body-timeout-ms", config.body_timeout_ms,
                   "A request's body must arrive within this after its headers")
        ->check(CLI::Range(100, 3600000))
        ->capture_default_str();
    app.add_option("--auth", config.auth_file,
                   "JSON file of client tokens with roles (read, write, admin); clients send "
                   "'Authorization: Bearer <token>'. Without it the node is open")
        ->check(CLI::ExistingFile);
    app.add_option("--max-restore-bytes", config.max_restore_bytes,
                   "Largest database POST /restore takes: the upload, and the database it "
                   "becomes (413 beyond)")
        ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 50))
        ->capture_default_str();
    app.add_option("--log-level", config.log_level, "trace, debug, info, warn, error")
        ->capture_default_str();
    app.add_option("--tls-cert", config.tls.cert,
                   "PEM certificate (chain): serve HTTPS/WSS on --port; also presented to "
                   "other nodes as the client certificate");
    app.add_option("--tls-key", config.tls.key, "PEM private key of --tls-cert");
    app.add_option("--ack", config.default_ack, "Default ack mode for writes: master, quorum, all")
        ->transform(CLI::CheckedTransformer(std::map<std::string, AckMode>{
            {"master", AckMode::master}, {"quorum", AckMode::quorum}, {"all", AckMode::all}}))
        ->capture_default_str();
    app.add_option("--ack-timeout-ms", config.ack_timeout_ms,
                   "How long a write waits for its acks before a 504")
        ->check(CLI::Range(1, 3600000))
        ->capture_default_str();
    app.add_flag("--foreign-keys", config.foreign_keys,
                 "Enforce foreign keys (and run their ON DELETE/UPDATE actions) on writes, "
                 "on whichever node is master");
    app.add_option("--forward-threads", config.forward_threads,
                   "Threads forwarding writes to the master (while a replica)")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    app.add_option("--ready-max-lag", config.ready_max_lag,
                   "GET /ready answers 503 while this replica is more entries than this "
                   "behind the master")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
        ->capture_default_str();
    app.add_option("--peers", config.peers,
                   "Every node's URL in id order (master's first), comma-separated: nodes "
                   "find the master by term, and /_cluster/promote checks it is safe")
        ->delimiter(',');
    app.add_option("--etcd", config.etcd,
                   "etcd client URLs, comma-separated: automatic failover through a master "
                   "lease (needs --peers)")
        ->delimiter(',');
    app.add_option("--cluster-name", config.cluster_name,
                   "The cluster's name in etcd (keys under /sqlrep/<name>/)")
        ->capture_default_str();
    app.add_option("--lease-ttl-ms", config.lease_ttl_ms,
                   "The master's etcd lease: a master that cannot renew it stops "
                   "acknowledging before it expires; a new one is elected after it does")
        ->check(CLI::Range(1000, 600000))
        ->capture_default_str();
    app.add_option("--tls-ca", config.tls.ca,
                   "PEM CA: nodes verify each other's certificates against it (mutual TLS on "
                   "node-to-node traffic); needs --tls-cert/--tls-key");
    // The change feed, GET /changes (docs/API.md).
    app.add_option("--changes-max-consumers", config.changes_max_consumers,
                   "Consumers of GET /changes at once (503 beyond)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{100000}))
        ->capture_default_str();
    app.add_option("--changes-queue-bytes", config.changes_queue_bytes,
                   "Bytes of changes read ahead of one /changes consumer at most")
        ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_option("--changes-stall-ms", config.changes_stall_ms,
                   "A /changes consumer that takes nothing this long while changes wait is "
                   "cut off (with an event saying where to resume)")
        ->check(CLI::Range(100, 3600000))
        ->capture_default_str();
    app.add_option("--changes-heartbeat-ms", config.changes_heartbeat_ms,
                   "An idle /changes feed sends a heartbeat this often")
        ->check(CLI::Range(50, 3600000))
        ->capture_default_str();
    app.add_option("--cdc-webhook", config.cdc_webhook,
                   "Change sink: the master POSTs every row change, in batches of JSON, to "
                   "this http(s) URL, retrying until a 2xx (docs/API.md)");
    app.add_option("--cdc-nats", config.cdc_nats,
                   "Change sink: the master publishes every row change to NATS JetStream at "
                   "this URL (nats://host:port), waiting for each publish ack");
    app.add_option("--cdc-subject", config.cdc_subject,
                   "Subject prefix for --cdc-nats: changes go to <prefix>.<table>")
        ->capture_default_str();
}

bool secrets_equal(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string resolve_cluster_token(const NodeConfig& config, bool create_if_missing) {
    if (!config.cluster_token.empty()) return config.cluster_token;
    if (const char* env = std::getenv("SQLREP_CLUSTER_TOKEN"); env && *env) return env;

    std::filesystem::path path = std::filesystem::path(config.data_dir) / "cluster.token";
    if (std::ifstream in(path); in) {
        std::string token;
        std::getline(in, token);
        if (!token.empty()) return token;
    }
    if (!create_if_missing) return "";

    unsigned char random[24];
    if (RAND_bytes(random, sizeof random) != 1)
        throw Error(ErrorKind::internal, "cannot generate a cluster token");
    std::ostringstream hex;
    for (unsigned char b : random) hex << "0123456789abcdef"[b >> 4] << "0123456789abcdef"[b & 15];

    // Write a private temp file, then link it into place: link() fails if the token
    // exists, so when nodes sharing a data dir start together, the first one wins and
    // the others read its token. Nobody ever reads half a token.
    std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
    {
        mode_t old = ::umask(077);
        std::ofstream out(tmp, std::ios::trunc);
        ::umask(old);
        out << hex.str() << "\n";
        if (!out) throw Error(ErrorKind::internal, "cannot write " + tmp.string());
    }
    bool created = ::link(tmp.c_str(), path.c_str()) == 0;
    std::filesystem::remove(tmp);
    if (!created) return resolve_cluster_token(config, false);
    spdlog::info("created cluster token in {}", path.string());
    return hex.str();
}

void setup_logging(const std::string& node_name, const std::string& level) {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [" + node_name + "] %v");
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace sqlrep
