#pragma once
// Test harness for integration tests: real `master` and `replica` processes on free
// 127.0.0.1 ports, in a temporary directory that is removed afterwards.
//
// - Node: one child process (fork/exec of SQLREP_BIN_DIR/master or /replica), its stdout
//   and stderr appended to a log file; kill (SIGKILL), stop (SIGSTOP), resume (SIGCONT),
//   terminate (SIGTERM and wait), restart with the same arguments, wait_ready (GET /health).
//   It inherits the test process's environment plus the node's own "K=V" entries (set_env,
//   ClusterOptions::master_env/replica_env), which override inherited ones of the same name.
// - Cluster: one master and N replicas sharing a data dir and a cluster token, plus the
//   helpers tests use: exec/query, /status, /checksum, waiting until every node has applied
//   an index, and checks that every node holds the same rows.
// - NodeClient: a thin JSON layer over sqlrep::HttpClient (https unverified); one per
//   thread.
// - Failover (issue #17): ClusterOptions::peers/etcd give every node --peers (and --etcd);
//   Cluster::node(id) names nodes by id, find_master/wait_for_master poll every node's
//   /status for the one that is master now, and the checks take the node to compare with.
//   LinkProxy puts a relay that a test can cut and heal in front of a node (peer_proxies)
//   or between a node and etcd (etcd_proxies): a partition on 127.0.0.1.
//
// Every wait is bounded by a deadline and throws std::runtime_error when it runs out. When
// an assertion fails while a Cluster is alive (or a Cluster dies during unwinding), the tail
// of every node's log is printed. The Cluster destructor kills every process (SIGKILL and
// waitpid), reports nodes that crashed on their own or logged a sanitizer error, and
// removes the temp dir (kept when SQLREP_KEEP_TEST_DIR is set). SQLREP_TEST_BIN_DIR, when
// set, replaces the compiled-in SQLREP_BIN_DIR.
//
// Thread contract: Node and Cluster are driven from the test's main thread only; worker
// threads use their own NodeClient and never Catch macros.

#include <sys/types.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "shared/http_client.hpp"
#include "tcp_proxy.hpp"

namespace sqlrep::test {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Generous bounds: sanitizer builds on a 2-core CI machine are slow. None of these is a
// speed assertion; they only keep a broken node from hanging the suite.
inline constexpr std::chrono::milliseconds kReadyTimeout = 30s;
inline constexpr std::chrono::milliseconds kApplyTimeout = 40s;
inline constexpr std::chrono::milliseconds kRequestTimeout = 20s;

// One HTTP answer with its body parsed when it is JSON.
struct Response {
    unsigned status = 0;
    std::string raw;
    json::value body;  // null when the body is not JSON

    // HTTP 200 and {"ok": true}.
    bool ok() const;
    // The "error" string of a failure body, or "" when there is none.
    std::string error() const;
    // The "index" field, or -1 when absent.
    int64_t index() const;
    // The "rows" of a query answer; throws when absent.
    const json::array& rows() const;
    // The named field as int64 (throws when absent or not an integer).
    int64_t int_field(const char* name) const;
    // "HTTP 400 {...}", for messages.
    std::string describe() const;
};

// A JSON client for one node. Not thread-safe: one per thread. Throws sqlrep::Error when
// the node cannot be reached or the timeout passes.
class NodeClient {
  public:
    // A non-empty `bearer_token` goes with every request as "Authorization: Bearer ...",
    // unless the request names its own Authorization header.
    explicit NodeClient(const std::string& url, std::string bearer_token = "");

    Response request(boost::beast::http::verb method, const std::string& target,
                     const std::string& body,
                     const std::map<std::string, std::string>& headers = {},
                     std::chrono::milliseconds timeout = kRequestTimeout);
    Response get(const std::string& target, std::chrono::milliseconds timeout = kRequestTimeout);
    Response post(const json::value& body, const std::map<std::string, std::string>& headers = {},
                  std::chrono::milliseconds timeout = kRequestTimeout);

    // {"command":"exec"/"query","query":sql[,"params":params]} plus every field of `extra`.
    Response exec(const std::string& sql, const json::value& params = nullptr,
                  const json::object& extra = {},
                  std::chrono::milliseconds timeout = kRequestTimeout);
    Response query(const std::string& sql, const json::value& params = nullptr,
                   const json::object& extra = {},
                   std::chrono::milliseconds timeout = kRequestTimeout);

  private:
    HttpClient http_;
    std::string bearer_token_;
};

// How a child process ended.
struct ExitInfo {
    bool exited = false;  // true: exit code in `code`; false: killed by `signal`
    int code = 0;
    int signal = 0;
    std::string describe() const;
};

class Node {
  public:
    // `scheme`: "http", or "https" for a node started with --tls-cert.
    Node(std::string name, std::string binary, std::vector<std::string> args, uint16_t port,
         std::string log_path, std::string scheme = "http");
    ~Node();  // SIGKILL and reap when still running
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Starts the process. Precondition: not running.
    void start();
    // SIGKILL (when running), then start again with the same arguments.
    void restart();
    // SIGKILL and reap. No-op when not running.
    void kill();
    // SIGSTOP / SIGCONT.
    void stop();
    void resume();
    // Between stop() and resume() (or a kill or restart).
    bool paused() const { return paused_; }
    // SIGTERM and wait up to `grace` for the exit; SIGKILL after that. Returns how it ended
    // (signal SIGKILL means it did not exit within `grace`).
    ExitInfo terminate(std::chrono::milliseconds grace = 20s);
    // Polls GET /health until {"ok":true}; throws when the process exits first or the
    // timeout passes.
    void wait_ready(std::chrono::milliseconds timeout = kReadyTimeout);

    // Replaces the value that follows `flag` in the command line (appends both when the
    // flag is absent). Takes effect at the next start; the process keeps running meanwhile.
    void set_arg(const std::string& flag, const std::string& value);

    // Sets an environment variable ("NAME=value") for the node; it replaces an earlier
    // entry of this node with the same NAME and overrides the inherited variable. Takes
    // effect at the next start. Precondition: `entry` contains '=' after a non-empty NAME.
    void set_env(const std::string& entry);
    // The node's own "NAME=value" entries (not the inherited environment).
    const std::vector<std::string>& env() const { return env_; }

    // True when the process is running (reaps it when it has exited).
    bool running();
    // Set when the process ended without this harness killing it.
    const std::optional<ExitInfo>& unexpected_exit() const { return unexpected_exit_; }

    const std::string& name() const { return name_; }
    std::string url() const;
    uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& log_path() const { return log_path_; }
    std::string log_tail(std::size_t max_lines) const;

  private:
    void reap(bool block);

    // fixed after construction
    std::string name_;
    std::string binary_;
    std::vector<std::string> args_;
    uint16_t port_;
    std::string log_path_;
    std::string scheme_;

    std::vector<std::string> env_;  // "NAME=value" on top of the inherited environment
    pid_t pid_ = -1;
    bool expect_exit_ = false;  // a signal that ends it was sent by us
    bool paused_ = false;       // stopped with SIGSTOP, not resumed yet
    int starts_ = 0;
    std::optional<ExitInfo> unexpected_exit_;
};

struct ClusterOptions {
    int replicas = 2;
    std::string ack;                        // --ack on the master; "" keeps its default
    std::vector<std::string> master_args;   // extra flags for the master
    std::vector<std::string> replica_args;  // extra flags for every replica
    bool wait_ready = true;                 // wait for /health on every node in the constructor
    std::string client_token;               // bearer token the harness's own requests carry
    std::string auth;  // when set, an --auth file with this JSON text is given to every node
    // HTTPS: every node gets --tls-cert/--tls-key (and --tls-ca when set) and its url()
    // becomes https://. The harness's own clients do not verify certificates.
    std::string tls_cert;
    std::string tls_key;
    std::string tls_ca;
    // Extra environment ("NAME=value", overriding the inherited variable) for the master /
    // for every replica. Node::set_env adds per-node entries (effective at the next start).
    std::vector<std::string> master_env;
    std::vector<std::string> replica_env;

    // Failover (issue #17).
    // Every node gets --peers: every node's URL in id order (Cluster::peer_urls()).
    bool peers = false;
    // Implies peers: every node is reached by the others through a LinkProxy of its own
    // (--peers and --master name the proxies), so peer_proxy(id).cut() cuts the node off
    // from the other nodes (not from the harness, which talks to node ports directly).
    bool peer_proxies = false;
    // Non-empty: every node gets --etcd with these client URLs (implies peers).
    std::vector<std::string> etcd;
    // With etcd: each node reaches every etcd endpoint through LinkProxies of its own, so
    // cut_etcd(id) cuts that node off from etcd alone.
    bool etcd_proxies = false;
    std::string cluster_name;  // --cluster-name when set
    int lease_ttl_ms = 0;      // --lease-ttl-ms when > 0
};

class Cluster {
  public:
    explicit Cluster(ClusterOptions options = {});
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    // Node 0: the `master` process (with etcd, or after a failover, maybe not master now).
    Node& master() { return *master_; }
    Node& replica(int id) { return *replicas_.at(static_cast<std::size_t>(id - 1)); }
    int replica_count() const { return static_cast<int>(replicas_.size()); }
    // Node `id` (0: the master process, 1..N: replicas).
    Node& node(int id) { return id == 0 ? master() : replica(id); }
    // Master first, then replicas 1..N.
    std::vector<Node*> nodes();

    const std::string& dir() const { return dir_; }
    const std::string& data_dir() const { return data_dir_; }
    const std::string& token() const { return token_; }
    // The node's SQLite file: <data-dir>/master.db (id 0) or replica_<id>.db.
    std::string database_path(int node_id) const;
    // Removes the node's SQLite file with its -wal, -shm and incoming snapshot companions.
    // Precondition: that node is not running.
    void wipe_files(int node_id);

    // A client for `node` carrying options.client_token.
    NodeClient client(Node& node) const;

    // Each call uses a fresh connection; main thread only.
    Response exec(Node& node, const std::string& sql, const json::value& params = nullptr,
                  const json::object& extra = {});
    Response query(Node& node, const std::string& sql, const json::value& params = nullptr,
                   const json::object& extra = {});
    Response get(Node& node, const std::string& target);

    // Like exec, but throws unless the answer is 200 {"ok":true}; returns the entry's index.
    int64_t exec_ok(Node& node, const std::string& sql, const json::value& params = nullptr,
                    const json::object& extra = {});
    // The rows of a read; throws unless it succeeds.
    json::array rows(Node& node, const std::string& sql, const json::value& params = nullptr);

    // GET /status and GET /checksum bodies; throw unless 200 {"ok":true}.
    json::object status(Node& node);
    json::object checksums(Node& node);
    // The applied index of `reference` (default: master()).
    int64_t master_index(Node* reference = nullptr);

    // Polls /status until every running node's applied_index >= index; throws (naming each
    // node's last state) when the timeout passes.
    void wait_all_applied(int64_t index, std::chrono::milliseconds timeout = kApplyTimeout);
    // wait_all_applied(master_index(reference)).
    void wait_converged(std::chrono::milliseconds timeout = kApplyTimeout,
                        Node* reference = nullptr);

    // Catch checks: every node answers `sql` with exactly the rows of `reference` (default:
    // master()); returns them.
    json::array check_identical(const std::string& sql, Node* reference = nullptr);
    // Catch checks: every node's /checksum has the index and tables of `reference`.
    void check_same_checksums(Node* reference = nullptr);

    // Failover.
    // Every node's URL as --peers gives it (the proxies' with peer_proxies); empty when the
    // nodes got no --peers.
    const std::vector<std::string>& peer_urls() const { return peer_urls_; }
    // The relay in front of node `id` (peer_proxies only).
    LinkProxy& peer_proxy(int id);
    // Cut / heal every link between node `id` and etcd (etcd_proxies only).
    void cut_etcd(int id);
    void heal_etcd(int id);
    // GET /status of node `id` with a short timeout; nullopt when it does not answer 200.
    std::optional<json::object> try_status(int id, std::chrono::milliseconds timeout = 1000ms);
    // One poll of every running, not paused node: the id of the node that says it is
    // master in the highest term, or -1.
    int find_master();
    // Polls until a running, not paused node other than `exclude` says it is master and
    // "serving" and no answering node knows a higher term; returns its id. Throws (with
    // every node's last /status) when the timeout passes.
    int wait_for_master(std::chrono::milliseconds timeout, int exclude = -1);
    // Polls until node `id` says role "replica", state "following" and master_id
    // `master_id`; throws with its last /status when the timeout passes.
    void wait_following(int id, int master_id, std::chrono::milliseconds timeout = kApplyTimeout);

    // Prints the tail of every node's log to stdout, once per cluster (repeat with force).
    void dump_logs(const std::string& why, bool force = false);

  private:
    ClusterOptions options_;
    std::string dir_;
    std::string data_dir_;
    std::string token_;
    std::vector<std::string> peer_urls_;
    std::vector<std::unique_ptr<LinkProxy>> peer_proxies_;               // by node id
    std::vector<std::vector<std::unique_ptr<LinkProxy>>> etcd_proxies_;  // by node id
    std::unique_ptr<Node> master_;
    std::vector<std::unique_ptr<Node>> replicas_;
    std::atomic<bool> logs_dumped_{false};
};

// A fresh random hex string, for unique values.
std::string random_hex(std::size_t chars);

// `count` distinct free loopback ports.
std::vector<uint16_t> free_ports(int count);

// The path of a built executable ("master", "replica", "show_all", ...).
std::string binary_path(const std::string& name);

// A shell command run to completion under `timeout -k 5 <seconds>` (SIGTERM, then SIGKILL
// 5 s later).
struct CommandRun {
    int exit_code = -1;  // -1 when it did not exit normally
    std::string output;  // stdout, and stderr when asked for
};
CommandRun run_command(const std::string& command, bool with_stderr = true, int seconds = 60);

// Runs `sql` on a stopped node's database file directly, behind sqlrep's back.
void tamper(const std::string& database_path, const std::string& sql);

// Copies `files` from `source` into `work` and installs the npm package `package` there
// with `npm ci` (once: kept in the build tree). REQUIREs node, npm and a reachable
// registry, saying which one is missing.
void install_npm_package(const std::filesystem::path& source, const std::filesystem::path& work,
                         const std::vector<std::string>& files, const std::string& package);

}  // namespace sqlrep::test
