#pragma once
// EtcdServer: one real etcd member (Debian's etcd-server, which scripts/test installs) for
// integration tests, on free 127.0.0.1 client and peer ports, its data and log in a temp
// dir. The constructor returns once GET /health says {"health":"true"}; the destructor
// kills the process (SIGKILL, reaped) before removing the dir (kept when
// SQLREP_KEEP_TEST_DIR is set). Node sets PR_SET_PDEATHSIG too, so a test binary that dies
// takes the member with it.
//
// Header-only: the integration tests' CMake glob compiles *_test.cpp files, and the
// harness library lists its sources by name.
//
// Thread contract: construct, use and destroy on the test's main thread; url() from any.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "shared/http_client.hpp"

namespace sqlrep::test {

// The etcd binary on the PATH (Debian: /usr/bin/etcd from etcd-server); throws when none.
inline std::string etcd_binary() {
    namespace fs = std::filesystem;
    const char* path = std::getenv("PATH");
    std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t colon = dirs.find(':', start);
        if (colon == std::string::npos) colon = dirs.size();
        fs::path candidate = fs::path(dirs.substr(start, colon - start)) / "etcd";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = colon + 1;
    }
    throw std::runtime_error(
        "no etcd on the PATH: these tests need Debian's etcd-server (scripts/test installs "
        "it)");
}

// A temp dir removed on destruction (unless SQLREP_KEEP_TEST_DIR is set).
class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "sqlrep-etcd-") {
        path_ = std::filesystem::temp_directory_path() / (prefix + random_hex(12));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        if (!std::getenv("SQLREP_KEEP_TEST_DIR")) std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

class EtcdServer {
  public:
    static constexpr std::chrono::seconds kReadyTimeout{30};

    EtcdServer() {
        auto ports = free_ports(2);
        const std::string client = "http://127.0.0.1:" + std::to_string(ports[0]);
        const std::string peer = "http://127.0.0.1:" + std::to_string(ports[1]);
        std::vector<std::string> args = {
            "--name=sqlrep-test",
            "--data-dir=" + (dir_.path() / "data").string(),
            "--listen-client-urls=" + client,
            "--advertise-client-urls=" + client,
            "--listen-peer-urls=" + peer,
            "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=sqlrep-test=" + peer,
            "--initial-cluster-state=new",
            "--logger=zap",
            "--log-outputs=stderr",
        };
        node_ = std::make_unique<Node>("etcd", etcd_binary(), args, ports[0],
                                       (dir_.path() / "etcd.log").string());
        node_->start();
        wait_healthy();
    }
    EtcdServer(const EtcdServer&) = delete;
    EtcdServer& operator=(const EtcdServer&) = delete;

    std::string url() const { return node_->url(); }
    Node& node() { return *node_; }
    // Starts the member again on its data dir (after node().kill()), and returns once it
    // is healthy. Its keys and leases survive; etcd extends each lease by its TTL.
    void restart() {
        node_->restart();
        wait_healthy();
    }

  private:
    void wait_healthy() {
        auto deadline = Clock::now() + kReadyTimeout;
        std::string last = "no answer yet";
        while (true) {
            if (!node_->running())
                throw std::runtime_error("etcd exited at start; log tail:\n" + node_->log_tail(30));
            try {
                sqlrep::HttpClient http(url());
                auto r = http.get("/health", std::chrono::milliseconds(1000));
                if (r.status == 200 && r.body.find("\"true\"") != std::string::npos) return;
                last = "HTTP " + std::to_string(r.status) + " " + r.body;
            } catch (const std::exception& e) {
                last = e.what();
            }
            if (Clock::now() >= deadline)
                throw std::runtime_error("etcd not healthy within 30 s (last: " + last +
                                         "); log tail:\n" + node_->log_tail(30));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

    TempDir dir_;  // declared first: removed after the process is gone
    std::unique_ptr<Node> node_;
};

}  // namespace sqlrep::test
