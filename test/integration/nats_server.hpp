#pragma once
// NatsServer: one real nats-server with JetStream (Debian's nats-server, which scripts/test
// installs) for integration tests, on a free 127.0.0.1 port, its JetStream store and log
// in a temp dir. The constructor returns once a client can connect; restart() starts it
// again on the same port and store (after node().kill()). The destructor kills the
// process (SIGKILL, reaped) before removing the dir, also when a test fails; Node sets
// PR_SET_PDEATHSIG, so a test binary that dies takes the server with it.
//
// Header-only, like etcd_server.hpp. Thread contract: the test's main thread only.

#include <nats/nats.h>
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
#include "etcd_server.hpp"  // TempDir

namespace sqlrep::test {

// The nats-server binary: on the PATH, else Debian's /usr/sbin/nats-server.
inline std::string nats_server_binary() {
    namespace fs = std::filesystem;
    const char* path = std::getenv("PATH");
    std::string dirs = std::string(path && *path ? path : "/usr/local/bin:/usr/bin:/bin") +
                       ":/usr/sbin:/usr/local/sbin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t colon = dirs.find(':', start);
        if (colon == std::string::npos) colon = dirs.size();
        fs::path candidate = fs::path(dirs.substr(start, colon - start)) / "nats-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = colon + 1;
    }
    throw std::runtime_error(
        "no nats-server found: these tests need Debian's nats-server (scripts/test installs "
        "it)");
}

class NatsServer {
  public:
    static constexpr std::chrono::seconds kReadyTimeout{30};

    NatsServer() : dir_("sqlrep-nats-") {
        auto ports = free_ports(1);
        std::vector<std::string> args = {"-a",
                                         "127.0.0.1",
                                         "-p",
                                         std::to_string(ports[0]),
                                         "-js",
                                         "-sd",
                                         (dir_.path() / "store").string()};
        node_ = std::make_unique<Node>("nats", nats_server_binary(), args, ports[0],
                                       (dir_.path() / "nats.log").string(), "nats");
        node_->start();
        wait_connectable();
    }
    NatsServer(const NatsServer&) = delete;
    NatsServer& operator=(const NatsServer&) = delete;

    // nats://127.0.0.1:<port>
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(node_->port()); }
    Node& node() { return *node_; }
    // SIGKILL (when running) and start again on the same port and store.
    void restart() {
        node_->restart();
        wait_connectable();
    }

  private:
    void wait_connectable() {
        auto deadline = Clock::now() + kReadyTimeout;
        while (true) {
            if (!node_->running())
                throw std::runtime_error("nats-server exited at start; log tail:\n" +
                                         node_->log_tail(30));
            natsConnection* conn = nullptr;
            natsStatus s = natsConnection_ConnectTo(&conn, url().c_str());
            if (conn) natsConnection_Destroy(conn);
            if (s == NATS_OK) return;
            if (Clock::now() >= deadline)
                throw std::runtime_error("nats-server not reachable within 30 s; log tail:\n" +
                                         node_->log_tail(30));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

    TempDir dir_;  // declared first: removed after the process is gone
    std::unique_ptr<Node> node_;
};

}  // namespace sqlrep::test
