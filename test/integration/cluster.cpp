#include "cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "shared/error.hpp"

#ifndef SQLREP_BIN_DIR
#error "SQLREP_BIN_DIR must name the directory that holds the master and replica binaries"
#endif

namespace sqlrep::test {

namespace {

namespace http = boost::beast::http;

// A node killed mid-request must not take the test process down with SIGPIPE.
[[maybe_unused]] const bool g_sigpipe_ignored = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
}();

// Live clusters, so a failed assertion anywhere can print their logs.
std::mutex g_live_mutex;
std::set<Cluster*> g_live_clusters;

std::runtime_error failure(const std::string& what) { return std::runtime_error(what); }

ExitInfo exit_info(int wstatus) {
    ExitInfo info;
    if (WIFEXITED(wstatus)) {
        info.exited = true;
        info.code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        info.signal = WTERMSIG(wstatus);
    }
    return info;
}

json::value parse_or_null(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return nullptr;
    return v;
}

std::string truncate(const std::string& s, std::size_t max) {
    if (s.size() <= max) return s;
    return s.substr(0, max) + "...(" + std::to_string(s.size()) + " bytes)";
}

// Lines of a log that show a sanitizer report.
std::vector<std::string> sanitizer_lines(const std::string& path) {
    std::vector<std::string> found;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("ERROR: AddressSanitizer") != std::string::npos ||
            line.find("ERROR: LeakSanitizer") != std::string::npos ||
            line.find("WARNING: ThreadSanitizer") != std::string::npos ||
            line.find("runtime error:") != std::string::npos) {
            found.push_back(line);
            if (found.size() >= 10) break;
        }
    }
    return found;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Response

bool Response::ok() const {
    if (status != 200 || !body.is_object()) return false;
    const auto* ok = body.as_object().if_contains("ok");
    return ok && ok->is_bool() && ok->as_bool();
}

std::string Response::error() const {
    if (!body.is_object()) return "";
    const auto* e = body.as_object().if_contains("error");
    if (!e || !e->is_string()) return "";
    return std::string(e->as_string());
}

int64_t Response::index() const {
    if (!body.is_object()) return -1;
    const auto* i = body.as_object().if_contains("index");
    if (!i || !i->is_int64()) return -1;
    return i->as_int64();
}

const json::array& Response::rows() const {
    if (body.is_object()) {
        const auto* r = body.as_object().if_contains("rows");
        if (r && r->is_array()) return r->as_array();
    }
    throw failure("answer has no rows: " + describe());
}

int64_t Response::int_field(const char* name) const {
    if (body.is_object()) {
        const auto* v = body.as_object().if_contains(name);
        if (v && v->is_int64()) return v->as_int64();
        if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
    }
    throw failure(std::string("answer has no integer \"") + name + "\": " + describe());
}

std::string Response::describe() const {
    return "HTTP " + std::to_string(status) + " " + truncate(raw, 2000);
}

// ---------------------------------------------------------------------------------------
// NodeClient

NodeClient::NodeClient(const std::string& url, std::string bearer_token)
    : http_(url), bearer_token_(std::move(bearer_token)) {}

Response NodeClient::request(http::verb method, const std::string& target, const std::string& body,
                             const std::map<std::string, std::string>& headers,
                             std::chrono::milliseconds timeout) {
    std::map<std::string, std::string> all = headers;
    if (!bearer_token_.empty()) all.emplace("Authorization", "Bearer " + bearer_token_);
    HttpResult r = http_.request(method, target, body, all, timeout);
    Response out;
    out.status = r.status;
    out.raw = std::move(r.body);
    out.body = parse_or_null(out.raw);
    return out;
}

Response NodeClient::get(const std::string& target, std::chrono::milliseconds timeout) {
    return request(http::verb::get, target, "", {}, timeout);
}

Response NodeClient::post(const json::value& body,
                          const std::map<std::string, std::string>& headers,
                          std::chrono::milliseconds timeout) {
    return request(http::verb::post, "/", json::serialize(body), headers, timeout);
}

namespace {
json::object sql_request(const char* command, const std::string& sql, const json::value& params,
                         const json::object& extra) {
    json::object body;
    body["command"] = command;
    body["query"] = sql;
    if (!params.is_null()) body["params"] = params;
    for (const auto& [key, value] : extra) body[key] = value;
    return body;
}
}  // namespace

Response NodeClient::exec(const std::string& sql, const json::value& params,
                          const json::object& extra, std::chrono::milliseconds timeout) {
    return post(sql_request("exec", sql, params, extra), {}, timeout);
}

Response NodeClient::query(const std::string& sql, const json::value& params,
                           const json::object& extra, std::chrono::milliseconds timeout) {
    return post(sql_request("query", sql, params, extra), {}, timeout);
}

// ---------------------------------------------------------------------------------------
// ExitInfo

std::string ExitInfo::describe() const {
    if (exited) return "exited with code " + std::to_string(code);
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

// ---------------------------------------------------------------------------------------
// Node

Node::Node(std::string name, std::string binary, std::vector<std::string> args, uint16_t port,
           std::string log_path, std::string scheme)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      args_(std::move(args)),
      port_(port),
      log_path_(std::move(log_path)),
      scheme_(std::move(scheme)) {}

Node::~Node() {
    try {
        kill();
    } catch (...) {
        // Destructors must not throw; kill() only throws on impossible waitpid errors.
    }
}

std::string Node::url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }

void Node::start() {
    if (pid_ > 0) throw failure(name_ + ": start() while running");
    ++starts_;

    // Everything the child needs is prepared before fork: between fork and exec only
    // async-signal-safe calls are allowed (other threads may hold locks).
    std::vector<std::string> argv_strings;
    argv_strings.push_back(binary_);
    argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    // The inherited environment with this node's entries replacing those of the same name.
    std::vector<std::string> env_strings;
    auto env_name = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
    std::set<std::string> overridden;
    for (const auto& e : env_) overridden.insert(env_name(e));
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string entry(*e);
        if (overridden.count(env_name(entry)) == 0) env_strings.push_back(std::move(entry));
    }
    env_strings.insert(env_strings.end(), env_.begin(), env_.end());
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        throw failure(name_ + ": cannot open " + log_path_ + ": " + std::strerror(errno));
    std::string banner = "\n===== harness: start #" + std::to_string(starts_) + ":";
    for (const auto& s : argv_strings) banner += " " + s;
    if (!env_.empty()) {
        banner += "\n===== harness: with env:";
        for (const auto& e : env_) banner += " " + e;
    }
    banner += "\n";
    if (::write(log_fd, banner.data(), banner.size()) < 0) {
        // The banner is a courtesy; a failed write shows up in the log anyway.
    }
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(log_fd);
        if (null_fd >= 0) ::close(null_fd);
        throw failure(name_ + ": fork: " + std::strerror(err));
    }
    if (pid == 0) {
        // Child. Die with the test process (also when ctest kills it on timeout).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::setpgid(0, 0);
        // The node starts with default signal dispositions and nothing blocked, whatever
        // the test process set up (ignored signals would survive exec).
        ::signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        // Sockets the test process holds (HttpClient connections) must not leak into the
        // node: they would keep connections to other nodes half alive.
        if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
            for (int fd = 3; fd < 4096; ++fd) ::close(fd);
        }
        ::execve(argv[0], argv.data(), envp.data());
        const char msg[] = "harness: execve failed\n";
        ssize_t ignored = ::write(2, msg, sizeof msg - 1);
        (void)ignored;
        ::_exit(127);
    }
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    pid_ = pid;
    expect_exit_ = false;
}

void Node::reap(bool block) {
    if (pid_ <= 0) return;
    int wstatus = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &wstatus, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return;  // still running
    if (r < 0) throw failure(name_ + ": waitpid: " + std::strerror(errno));
    if (!expect_exit_) unexpected_exit_ = exit_info(wstatus);
    pid_ = -1;
}

void Node::set_arg(const std::string& flag, const std::string& value) {
    for (std::size_t i = 0; i + 1 < args_.size(); ++i) {
        if (args_[i] == flag) {
            args_[i + 1] = value;
            return;
        }
    }
    args_.push_back(flag);
    args_.push_back(value);
}

void Node::set_env(const std::string& entry) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
        throw failure(name_ + ": set_env(\"" + entry + "\") is not NAME=value");
    const std::string prefix = entry.substr(0, eq + 1);
    for (auto& e : env_) {
        if (e.compare(0, prefix.size(), prefix) == 0) {
            e = entry;
            return;
        }
    }
    env_.push_back(entry);
}

bool Node::running() {
    reap(false);
    return pid_ > 0;
}

void Node::kill() {
    if (pid_ <= 0) return;
    reap(false);
    if (pid_ <= 0) return;
    expect_exit_ = true;
    ::kill(pid_, SIGKILL);
    reap(true);
    paused_ = false;
}

void Node::restart() {
    kill();
    start();
}

void Node::stop() {
    if (!running()) throw failure(name_ + ": stop() while not running");
    ::kill(pid_, SIGSTOP);
    paused_ = true;
}

void Node::resume() {
    if (!running()) throw failure(name_ + ": resume() while not running");
    ::kill(pid_, SIGCONT);
    paused_ = false;
}

ExitInfo Node::terminate(std::chrono::milliseconds grace) {
    if (!running()) throw failure(name_ + ": terminate() while not running");
    expect_exit_ = true;
    paused_ = false;
    ::kill(pid_, SIGCONT);  // a stopped process cannot handle SIGTERM
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + grace;
    while (Clock::now() < deadline) {
        int wstatus = 0;
        pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return exit_info(wstatus);
        }
        if (r < 0 && errno != EINTR) throw failure(name_ + ": waitpid: " + std::strerror(errno));
        std::this_thread::sleep_for(20ms);
    }
    ::kill(pid_, SIGKILL);
    int wstatus = 0;
    while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    ExitInfo info;
    info.signal = SIGKILL;
    return info;
}

void Node::wait_ready(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::string last = "no answer yet";
    while (true) {
        if (!running()) {
            throw failure(name_ + " exited before it was ready (" +
                          (unexpected_exit_ ? unexpected_exit_->describe() : "killed") +
                          "); log tail:\n" + log_tail(30));
        }
        try {
            NodeClient client(url());
            Response r = client.get("/health", 1000ms);
            if (r.ok()) return;
            last = r.describe();
        } catch (const std::exception& e) {
            last = e.what();
        }
        if (Clock::now() >= deadline) {
            throw failure(name_ + " not ready at " + url() + " within " +
                          std::to_string(timeout.count()) + " ms (last: " + last +
                          "); log tail:\n" + log_tail(30));
        }
        std::this_thread::sleep_for(50ms);
    }
}

std::string Node::log_tail(std::size_t max_lines) const {
    std::ifstream in(log_path_);
    if (!in) return "(no log at " + log_path_ + ")\n";
    std::deque<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(truncate(line, 400));
        if (lines.size() > max_lines) lines.pop_front();
    }
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// ---------------------------------------------------------------------------------------
// Cluster

// Finds `count` distinct free loopback ports by binding port 0; every socket stays bound
// until all are chosen so no two nodes get the same port.
std::vector<uint16_t> free_ports(int count) {
    // A port handed out earlier in this process may still be unbound (a webhook receiver
    // a test starts later, a node not started yet): the kernel could offer it again, and
    // two parts of one test would then share it. Such a port is kept bound while another
    // is asked for, and never handed out twice.
    static std::mutex mutex;
    static std::set<uint16_t> handed_out;
    std::lock_guard lock(mutex);
    std::vector<int> fds;
    std::vector<uint16_t> ports;
    for (int attempts = 0; static_cast<int>(ports.size()) < count; ++attempts) {
        if (attempts > 1000) throw failure("free_ports: no port left that was not handed out");
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw failure(std::string("socket: ") + std::strerror(errno));
        fds.push_back(fd);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw failure(std::string("bind: ") + std::strerror(errno));
        socklen_t len = sizeof addr;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw failure(std::string("getsockname: ") + std::strerror(errno));
        uint16_t port = ntohs(addr.sin_port);
        if (handed_out.insert(port).second) ports.push_back(port);
    }
    for (int fd : fds) ::close(fd);
    return ports;
}

std::string binary_path(const std::string& name) {
    // SQLREP_TEST_BIN_DIR points the suite at other binaries (another build tree).
    const char* bin_override = std::getenv("SQLREP_TEST_BIN_DIR");
    return std::string(bin_override && *bin_override ? bin_override : SQLREP_BIN_DIR) + "/" + name;
}

CommandRun run_command(const std::string& command, bool with_stderr, int seconds) {
    std::string line = "timeout -k 5 " + std::to_string(seconds) + " " + command +
                       (with_stderr ? " 2>&1" : " 2>/dev/null");
    FILE* pipe = ::popen(line.c_str(), "r");
    if (pipe == nullptr) throw failure("popen failed for: " + command);
    CommandRun run;
    char chunk[4096];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) run.output.append(chunk, n);
    int status = ::pclose(pipe);
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    return run;
}

void tamper(const std::string& database_path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(database_path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(message);
    REQUIRE(rc == SQLITE_OK);
}

void install_npm_package(const std::filesystem::path& source, const std::filesystem::path& work,
                         const std::vector<std::string>& files, const std::string& package) {
    CommandRun node = run_command("node --version");
    CommandRun npm = run_command("npm --version");
    INFO("this test needs node and npm (scripts/test installs them): node says '"
         << node.output << "', npm says '" << npm.output << "'");
    REQUIRE(node.exit_code == 0);
    REQUIRE(npm.exit_code == 0);
    std::filesystem::create_directories(work);
    for (const std::string& file : files)
        std::filesystem::copy_file(source / file, work / file,
                                   std::filesystem::copy_options::overwrite_existing);
    if (std::filesystem::exists(work / "node_modules" / package / "package.json")) return;
    CommandRun install =
        run_command("npm ci --prefix '" + work.string() + "' --no-audit --no-fund");
    INFO("npm ci of " << package << " failed (is the npm registry reachable?):\n"
                      << install.output);
    REQUIRE(install.exit_code == 0);
}

std::string random_hex(std::size_t chars) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < chars; ++i) s += digits[rng() % 16];
    return s;
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
    std::string base = "/tmp";
    if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
    std::string pattern = base + "/sqlrep-it-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw failure("mkdtemp " + pattern + ": " + std::strerror(errno));
    dir_ = buf.data();
    data_dir_ = dir_ + "/data";
    std::filesystem::create_directories(data_dir_);
    token_ = "it-" + random_hex(32);

    {
        std::lock_guard lock(g_live_mutex);
        g_live_clusters.insert(this);
    }

    try {
        const std::string n = std::to_string(options_.replicas);
        auto ports = free_ports(1 + options_.replicas);

        // The command lines of the issue: master <n> ..., replica <id> <n> ... --master URL.
        auto flag = [](std::vector<std::string>& args, const char* name, const std::string& value) {
            args.push_back(name);
            args.push_back(value);
        };
        std::vector<std::string> margs = {n};
        flag(margs, "--host", "127.0.0.1");
        flag(margs, "--port", std::to_string(ports[0]));
        flag(margs, "--data-dir", data_dir_);
        flag(margs, "--cluster-token", token_);
        if (!options_.ack.empty()) flag(margs, "--ack", options_.ack);
        std::vector<std::string> common;  // flags every node gets
        if (!options_.auth.empty()) {
            std::string path = dir_ + "/auth.json";
            std::ofstream(path) << options_.auth;
            flag(common, "--auth", path);
        }
        if (!options_.tls_cert.empty()) {
            flag(common, "--tls-cert", options_.tls_cert);
            flag(common, "--tls-key", options_.tls_key);
            if (!options_.tls_ca.empty()) flag(common, "--tls-ca", options_.tls_ca);
        }
        const std::string scheme = options_.tls_cert.empty() ? "http" : "https";
        // Failover: --peers names every node (through its relay with peer_proxies), and
        // --etcd the etcd endpoints (through this node's own relays with etcd_proxies).
        const int node_count = 1 + options_.replicas;
        if (options_.peers || options_.peer_proxies || !options_.etcd.empty()) {
            for (int id = 0; id < node_count; ++id) {
                const auto port = ports[static_cast<std::size_t>(id)];
                if (options_.peer_proxies) {
                    peer_proxies_.push_back(std::make_unique<LinkProxy>(port));
                    peer_urls_.push_back(peer_proxies_.back()->url());
                } else {
                    peer_urls_.push_back(scheme + "://127.0.0.1:" + std::to_string(port));
                }
            }
            std::string joined;
            for (const auto& u : peer_urls_) joined += (joined.empty() ? "" : ",") + u;
            flag(common, "--peers", joined);
        }
        if (!options_.cluster_name.empty()) flag(common, "--cluster-name", options_.cluster_name);
        if (options_.lease_ttl_ms > 0)
            flag(common, "--lease-ttl-ms", std::to_string(options_.lease_ttl_ms));
        // The --etcd value of node `id`.
        auto etcd_for = [&](int id) {
            std::string joined;
            if (options_.etcd_proxies) {
                if (etcd_proxies_.size() <= static_cast<std::size_t>(id))
                    etcd_proxies_.resize(static_cast<std::size_t>(id) + 1);
                for (const auto& url : options_.etcd) {
                    auto colon = url.rfind(':');
                    auto port = static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
                    auto& mine = etcd_proxies_[static_cast<std::size_t>(id)];
                    mine.push_back(std::make_unique<LinkProxy>(port));
                    joined += (joined.empty() ? "" : ",") + mine.back()->url();
                }
            } else {
                for (const auto& url : options_.etcd) joined += (joined.empty() ? "" : ",") + url;
            }
            return joined;
        };
        if (!options_.etcd.empty()) flag(margs, "--etcd", etcd_for(0));
        margs.insert(margs.end(), common.begin(), common.end());
        margs.insert(margs.end(), options_.master_args.begin(), options_.master_args.end());
        master_ = std::make_unique<Node>("master", binary_path("master"), margs, ports[0],
                                         dir_ + "/master.log", scheme);
        for (const auto& e : options_.master_env) master_->set_env(e);

        for (int id = 1; id <= options_.replicas; ++id) {
            std::vector<std::string> rargs = {std::to_string(id), n};
            flag(rargs, "--host", "127.0.0.1");
            flag(rargs, "--port", std::to_string(ports[id]));
            flag(rargs, "--master", peer_urls_.empty() ? master_->url() : peer_urls_[0]);
            if (!options_.etcd.empty()) flag(rargs, "--etcd", etcd_for(id));
            flag(rargs, "--data-dir", data_dir_);
            flag(rargs, "--cluster-token", token_);
            rargs.insert(rargs.end(), common.begin(), common.end());
            rargs.insert(rargs.end(), options_.replica_args.begin(), options_.replica_args.end());
            replicas_.push_back(std::make_unique<Node>(
                "replica_" + std::to_string(id), binary_path("replica"), rargs, ports[id],
                dir_ + "/replica_" + std::to_string(id) + ".log", scheme));
            for (const auto& e : options_.replica_env) replicas_.back()->set_env(e);
        }

        // The master first, so replicas find it on their first connection attempt rather
        // than after a reconnect backoff.
        master_->start();
        if (options_.wait_ready) master_->wait_ready();
        for (auto& r : replicas_) r->start();
        if (options_.wait_ready) {
            for (auto& r : replicas_) r->wait_ready();
        }
    } catch (...) {
        // The destructor does not run for a half-built object: clean up here.
        dump_logs("cluster failed to start");
        replicas_.clear();
        master_.reset();
        etcd_proxies_.clear();
        peer_proxies_.clear();
        {
            std::lock_guard lock(g_live_mutex);
            g_live_clusters.erase(this);
        }
        std::error_code ec;
        if (!std::getenv("SQLREP_KEEP_TEST_DIR")) std::filesystem::remove_all(dir_, ec);
        throw;
    }
}

Cluster::~Cluster() {
    {
        std::lock_guard lock(g_live_mutex);
        g_live_clusters.erase(this);
    }
    const bool unwinding = std::uncaught_exceptions() > 0;
    if (unwinding) dump_logs("test left with an exception");

    // Nodes that died without the test killing them are crashes, whatever the test checked.
    std::vector<std::string> problems;
    for (Node* node : nodes()) {
        node->running();
        if (node->unexpected_exit())
            problems.push_back(node->name() +
                               " ended on its own: " + node->unexpected_exit()->describe());
    }
    for (Node* node : nodes()) node->kill();
    for (Node* node : nodes()) {
        for (const auto& line : sanitizer_lines(node->log_path()))
            problems.push_back(node->name() + " log: " + line);
    }
    if (!problems.empty()) {
        dump_logs("node crashed or logged a sanitizer error", true);
        if (!unwinding) {
            for (const auto& p : problems) FAIL_CHECK(p);
        } else {
            for (const auto& p : problems) std::cout << "harness: " << p << "\n";
        }
    }

    replicas_.clear();
    master_.reset();
    etcd_proxies_.clear();
    peer_proxies_.clear();
    if (std::getenv("SQLREP_KEEP_TEST_DIR")) {
        std::cout << "harness: kept " << dir_ << "\n";
    } else {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

std::string Cluster::database_path(int node_id) const {
    if (node_id == 0) return data_dir_ + "/master.db";
    return data_dir_ + "/replica_" + std::to_string(node_id) + ".db";
}

void Cluster::wipe_files(int node_id) {
    Node& node = node_id == 0 ? *master_ : replica(node_id);
    if (node.running()) throw failure(node.name() + ": wipe_files() while running");
    const std::string db = database_path(node_id);
    for (const char* suffix : {"", "-wal", "-shm", "-journal", ".tmp-incoming-snapshot.db"})
        std::filesystem::remove(db + suffix);
}

std::vector<Node*> Cluster::nodes() {
    std::vector<Node*> out;
    if (master_) out.push_back(master_.get());
    for (auto& r : replicas_) out.push_back(r.get());
    return out;
}

NodeClient Cluster::client(Node& node) const {
    return NodeClient(node.url(), options_.client_token);
}

Response Cluster::exec(Node& node, const std::string& sql, const json::value& params,
                       const json::object& extra) {
    NodeClient client = this->client(node);
    return client.exec(sql, params, extra);
}

Response Cluster::query(Node& node, const std::string& sql, const json::value& params,
                        const json::object& extra) {
    NodeClient client = this->client(node);
    return client.query(sql, params, extra);
}

Response Cluster::get(Node& node, const std::string& target) {
    NodeClient client = this->client(node);
    return client.get(target);
}

int64_t Cluster::exec_ok(Node& node, const std::string& sql, const json::value& params,
                         const json::object& extra) {
    Response r = exec(node, sql, params, extra);
    if (!r.ok()) throw failure(node.name() + " exec \"" + sql + "\" failed: " + r.describe());
    return r.index();
}

json::array Cluster::rows(Node& node, const std::string& sql, const json::value& params) {
    Response r = query(node, sql, params);
    if (!r.ok()) throw failure(node.name() + " query \"" + sql + "\" failed: " + r.describe());
    return r.rows();
}

json::object Cluster::status(Node& node) {
    Response r = get(node, "/status");
    if (!r.ok()) throw failure(node.name() + " GET /status failed: " + r.describe());
    return r.body.as_object();
}

json::object Cluster::checksums(Node& node) {
    Response r = get(node, "/checksum");
    if (!r.ok()) throw failure(node.name() + " GET /checksum failed: " + r.describe());
    return r.body.as_object();
}

int64_t Cluster::master_index(Node* reference) {
    Node& ref = reference ? *reference : master();
    auto s = status(ref);
    const auto* i = s.if_contains("applied_index");
    if (!i || !i->is_int64())
        throw failure(ref.name() + " /status has no applied_index: " + json::serialize(s));
    return i->as_int64();
}

void Cluster::wait_all_applied(int64_t index, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::map<std::string, std::string> last;
    while (true) {
        bool all = true;
        for (Node* node : nodes()) {
            if (!node->running()) continue;
            try {
                NodeClient client = this->client(*node);
                Response r = client.get("/status", 2000ms);
                last[node->name()] = r.describe();
                const json::value* applied =
                    r.body.is_object() ? r.body.as_object().if_contains("applied_index") : nullptr;
                if (!r.ok() || !applied || !applied->is_int64() || applied->as_int64() < index)
                    all = false;
            } catch (const std::exception& e) {
                last[node->name()] = e.what();
                all = false;
            }
        }
        if (all) return;
        if (Clock::now() >= deadline) {
            std::string msg = "not every node applied index " + std::to_string(index) + " within " +
                              std::to_string(timeout.count()) + " ms:";
            for (const auto& [name, what] : last) msg += "\n  " + name + ": " + what;
            throw failure(msg);
        }
        std::this_thread::sleep_for(50ms);
    }
}

void Cluster::wait_converged(std::chrono::milliseconds timeout, Node* reference) {
    wait_all_applied(master_index(reference), timeout);
}

json::array Cluster::check_identical(const std::string& sql, Node* reference) {
    Node& ref = reference ? *reference : master();
    json::array expected = rows(ref, sql);
    for (Node* node : nodes()) {
        if (node == &ref) continue;
        json::array got = rows(*node, sql);
        INFO(node->name() + " vs " + ref.name() + " for: " + sql);
        CHECK(got.size() == expected.size());
        CHECK(json::value(got) == json::value(expected));
    }
    return expected;
}

void Cluster::check_same_checksums(Node* reference) {
    Node& ref = reference ? *reference : master();
    json::object expected = checksums(ref);
    const auto* tables = expected.if_contains("tables");
    INFO(ref.name() + " /checksum: " + json::serialize(expected));
    REQUIRE(tables != nullptr);
    REQUIRE(tables->is_array());
    for (Node* node : nodes()) {
        if (node == &ref) continue;
        json::object got = checksums(*node);
        INFO(node->name() + " /checksum: " + json::serialize(got));
        CHECK(got["index"] == expected["index"]);
        CHECK(got["tables"] == expected["tables"]);
    }
}

// ---------------------------------------------------------------------------------------
// Failover helpers

LinkProxy& Cluster::peer_proxy(int id) {
    if (peer_proxies_.empty()) throw failure("peer_proxy(): the cluster has no peer_proxies");
    return *peer_proxies_.at(static_cast<std::size_t>(id));
}

void Cluster::cut_etcd(int id) {
    if (etcd_proxies_.size() <= static_cast<std::size_t>(id))
        throw failure("cut_etcd(): the cluster has no etcd_proxies");
    for (auto& p : etcd_proxies_[static_cast<std::size_t>(id)]) p->cut();
}

void Cluster::heal_etcd(int id) {
    if (etcd_proxies_.size() <= static_cast<std::size_t>(id))
        throw failure("heal_etcd(): the cluster has no etcd_proxies");
    for (auto& p : etcd_proxies_[static_cast<std::size_t>(id)]) p->heal();
}

std::optional<json::object> Cluster::try_status(int id, std::chrono::milliseconds timeout) {
    Node& n = node(id);
    if (!n.running() || n.paused()) return std::nullopt;
    try {
        NodeClient client = this->client(n);
        Response r = client.get("/status", timeout);
        if (r.status == 200 && r.body.is_object()) return r.body.as_object();
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

namespace {
std::string string_field(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : "";
}
int64_t int_field_or(const json::object& o, const char* name, int64_t fallback) {
    const json::value* v = o.if_contains(name);
    return v && v->is_int64() ? v->get_int64() : fallback;
}
}  // namespace

int Cluster::find_master() {
    int best = -1;
    int64_t best_term = -1;
    for (int id = 0; id <= replica_count(); ++id) {
        auto s = try_status(id);
        if (!s || string_field(*s, "role") != "master") continue;
        int64_t term = int_field_or(*s, "term", 0);
        if (term > best_term) {
            best = id;
            best_term = term;
        }
    }
    return best;
}

int Cluster::wait_for_master(std::chrono::milliseconds timeout, int exclude) {
    auto deadline = Clock::now() + timeout;
    std::map<int, std::string> last;
    while (true) {
        int candidate = -1;
        int64_t candidate_term = -1;
        int64_t highest_term = -1;
        for (int id = 0; id <= replica_count(); ++id) {
            auto s = try_status(id);
            if (!s) {
                last[id] = node(id).paused() ? "paused" : "no answer";
                continue;
            }
            last[id] = json::serialize(*s);
            int64_t term = int_field_or(*s, "term", 0);
            highest_term = std::max(highest_term, term);
            if (id != exclude && string_field(*s, "role") == "master" &&
                string_field(*s, "state") == "serving" && term > candidate_term) {
                candidate = id;
                candidate_term = term;
            }
        }
        if (candidate >= 0 && candidate_term >= highest_term) return candidate;
        if (Clock::now() >= deadline) {
            std::string msg = "no serving master (other than node " + std::to_string(exclude) +
                              ") within " + std::to_string(timeout.count()) + " ms:";
            for (const auto& [id, what] : last)
                msg += "\n  node " + std::to_string(id) + ": " + truncate(what, 600);
            throw failure(msg);
        }
        std::this_thread::sleep_for(50ms);
    }
}

void Cluster::wait_following(int id, int master_id, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::string last = "no answer";
    while (true) {
        if (auto s = try_status(id)) {
            last = json::serialize(*s);
            if (string_field(*s, "role") == "replica" && string_field(*s, "state") == "following" &&
                int_field_or(*s, "master_id", -2) == master_id)
                return;
        }
        if (Clock::now() >= deadline)
            throw failure("node " + std::to_string(id) + " not following node " +
                          std::to_string(master_id) + " within " + std::to_string(timeout.count()) +
                          " ms; last /status: " + last);
        std::this_thread::sleep_for(50ms);
    }
}

void Cluster::dump_logs(const std::string& why, bool force) {
    if (logs_dumped_.exchange(true) && !force) return;
    std::ostringstream out;
    out << "\n======== sqlrep cluster logs (" << why << "), dir " << dir_ << " ========\n";
    for (Node* node : nodes()) {
        out << "-------- " << node->name() << " (" << node->url() << ", pid " << node->pid()
            << ") last 60 lines of " << node->log_path() << " --------\n"
            << node->log_tail(60);
    }
    out << "======== end of cluster logs ========\n";
    std::cout << out.str() << std::flush;
}

// ---------------------------------------------------------------------------------------
// Prints node logs when an assertion fails while a cluster is alive.

namespace {
struct ClusterLogListener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;

    bool assertionEnded(const Catch::AssertionStats& stats) override {
        if (stats.assertionResult.isOk()) return true;
        std::lock_guard lock(g_live_mutex);
        for (Cluster* cluster : g_live_clusters) cluster->dump_logs("an assertion failed");
        return true;
    }
};
}  // namespace

CATCH_REGISTER_LISTENER(ClusterLogListener)

}  // namespace sqlrep::test
