#pragma once
// Everything a node is configured with, and the command-line flags both roles share.
// Filled once in main() before anything starts; read-only afterwards.

#include <cstdint>
#include <string>
#include <vector>

#include "shared/client_request.hpp"
#include "shared/connection.hpp"
#include "shared/http_server.hpp"
#include "shared/tls_context.hpp"

namespace CLI {
class App;
}

namespace sqlrep {

// I/O threads when --http-threads is not given. Each runs an io_context of its own
// (io_threads.hpp), and a read runs on the thread of the connection that sent it. A
// replica, whose clients mostly read, gets one per core, so its reads use every core. A
// master gets half the cores, at least one: each write crosses to the writer thread and
// back, and with a second context the answers of half the connections land on a thread
// that must be woken. On a 2-core VM: replica reads rose by a quarter or more with two;
// quorum writes fell with two on the master (docs/PERFORMANCE.md, 14).
int default_http_threads(bool replica);

struct NodeConfig {
    // Identity: fixed for life, whatever role the node plays.
    int node_id = 0;       // 0 for the node started as master, 1..num_replicas for replicas
    int num_replicas = 0;  // configured cluster size minus one
    // Network
    std::string host = "127.0.0.1";
    uint16_t port = 8080;
    std::string master_url;  // replicas: where the master is at start
    // Every node's URL by id (0..num_replicas), this one's included: lets a node find
    // the master by term and check a promotion is safe. Empty: not known.
    std::vector<std::string> peers;
    // Automatic failover: etcd's client URLs (empty: off), the cluster's name there, and
    // the master lease's time to live.
    std::vector<std::string> etcd;
    std::string cluster_name = "sqlrep";
    int lease_ttl_ms = 3000;
    std::string cluster_token;  // node-to-node secret; see resolve_cluster_token
    int http_threads = 1;       // each main sets default_http_threads() first
    TlsFiles tls;               // --tls-cert/--tls-key/--tls-ca; see tls_context.hpp
    // Storage
    std::string data_dir = "data";
    SyncMode sync = SyncMode::full;
    int read_connections = 4;
    int64_t log_retain = 10000;    // entries kept beyond what every replica has acked
    int64_t ready_max_lag = 1000;  // replicas: GET /ready fails further behind than this
    // Writes
    AckMode default_ack = AckMode::quorum;
    int ack_timeout_ms = 5000;
    bool foreign_keys = false;  // enforced by whichever node is master
    int forward_threads = 8;    // replicas: threads forwarding writes to the master
    // Requests
    std::size_t max_body_bytes = 8 * 1024 * 1024;
    int query_timeout_ms = 5000;
    int wait_timeout_ms = 5000;  // bounded waits: min_index, forwarded writes
    std::size_t max_result_rows = 100000;
    // Bytes one read's answer may hold, counted column by column while rows are produced
    // (a blob as its base64), and the longest value SQLite may build on a read connection.
    std::size_t max_result_bytes = 64 * 1024 * 1024;
    unsigned max_json_depth = 32;
    // Connections
    std::size_t max_connections = 1024;
    int header_timeout_ms = 10000;  // request headers must arrive within this (slowloris)
    int body_timeout_ms = 30000;    // and the body within this after them
    // Clients
    std::string auth_file;  // --auth: tokens with roles; empty = open
    std::string log_level = "info";
    // The change feed, GET /changes (change_feed.hpp)
    std::size_t changes_max_consumers = 64;
    std::size_t changes_queue_bytes = 1 << 20;
    int changes_stall_ms = 10000;
    int changes_heartbeat_ms = 5000;
    // Continuous archive (whichever node is master; src/master/archiver.hpp): empty = off.
    std::string archive_dir;
    int archive_interval_ms = 1000;          // new entries reach a named file at least this often
    int64_t archive_snapshot_every = 10000;  // entries between archived snapshots
    int archive_retention = 0;               // snapshots kept (0: all)
    // Backups (README "Backups"): the largest database POST /restore takes (the upload,
    // and the database once decompressed or loaded from a dump), and a file the master
    // boots a new cluster from (--restore; master only).
    uint64_t max_restore_bytes = uint64_t{1} << 30;
    std::string restore_file;
    // Change sinks (whichever node is master runs them; docs/API.md, "Change sinks"):
    // POST batches of changes to this URL; publish them to NATS JetStream at this URL,
    // on subjects <cdc_subject>.<table>. Empty: off.
    std::string cdc_webhook;
    std::string cdc_nats;
    std::string cdc_subject = "sqlrep";

    // Nodes that make a majority of the cluster's 1 + num_replicas.
    int majority() const { return (num_replicas + 1) / 2 + 1; }
    HttpLimits http_limits() const;
    RequestLimits request_limits() const;
    std::string database_path() const;   // <data-dir>/master.db or replica_<id>.db
    std::string advertised_url() const;  // http(s)://host:port
};

// Adds the flags every node takes (--host, --data-dir, --cluster-token, --tls-*, --ack,
// --peers, --etcd, ...): any node may play either role.
void add_common_flags(CLI::App& app, NodeConfig& config);

// The cluster token: --cluster-token, else $SQLREP_CLUSTER_TOKEN, else the file
// <data-dir>/cluster.token, created (random, mode 0600) by whichever node sharing that
// data dir starts first when `create_if_missing`; otherwise empty while it is missing.
std::string resolve_cluster_token(const NodeConfig& config, bool create_if_missing);

// Constant-time comparison, for secrets.
bool secrets_equal(const std::string& a, const std::string& b);

// Sets up spdlog's default logger with the node's name and level.
void setup_logging(const std::string& node_name, const std::string& level);

}  // namespace sqlrep
