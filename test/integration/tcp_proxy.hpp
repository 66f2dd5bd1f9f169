#pragma once
// TCP relays for tests, on 127.0.0.1: TcpProxy tears one transfer, LinkProxy (below) cuts
// and heals a link.
//
// TcpProxy: listens on 127.0.0.1 (a free port) and relays every
// accepted connection to 127.0.0.1:<target_port>. It can cut one connection once it has
// relayed a given number of bytes from the target back to the client (a torn transfer);
// after that one cut it passes everything through.
//
// Thread contract: the proxy runs its own accept thread and one thread per connection;
// every public member may be called from any thread. The destructor closes every socket
// and joins every thread (bounded: the threads poll with a short timeout).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sqlrep::test {

class TcpProxy {
  public:
    explicit TcpProxy(uint16_t target_port);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    uint16_t port() const { return port_; }
    std::string url() const;  // http://127.0.0.1:<port>

    // Arms a one-shot cut: the first connection that relays more than `bytes` from the
    // target to the client is closed (both sides) right there.
    void cut_once_after(uint64_t bytes);

    int cuts() const { return cuts_.load(); }
    int connections() const { return connections_.load(); }
    uint64_t bytes_to_client() const { return bytes_to_client_.load(); }

  private:
    void accept_loop();
    void relay(int client_fd);

    // fixed after construction
    uint16_t target_port_;
    uint16_t port_ = 0;
    int listen_fd_ = -1;

    std::atomic<bool> stop_{false};
    std::atomic<int64_t> cut_after_{-1};  // -1: no cut armed
    std::atomic<int> cuts_{0};
    std::atomic<int> connections_{0};
    std::atomic<uint64_t> bytes_to_client_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<std::thread> relays_;  // guarded by mutex_
};

// A TCP relay from a free 127.0.0.1 port to 127.0.0.1:<target_port> that a test can cut
// and heal: a network partition on loopback. cut() resets every open connection and
// leaves the ones accepted while cut silent (never relayed, so a client times out as
// across a dead link) until heal(), which closes them; later connections pass again.
//
// Thread contract: its own accept thread and one thread per connection; every public
// member may be called from any thread. The destructor closes every socket and joins
// every thread (bounded: they poll with a short timeout).
class LinkProxy {
  public:
    explicit LinkProxy(uint16_t target_port);
    ~LinkProxy();
    LinkProxy(const LinkProxy&) = delete;
    LinkProxy& operator=(const LinkProxy&) = delete;

    uint16_t port() const { return port_; }
    std::string url() const;  // http://127.0.0.1:<port>

    void cut();
    void heal();
    bool is_cut() const { return cut_.load(); }

  private:
    void accept_loop();
    void relay(int client_fd, uint64_t born);
    void hold(int client_fd);
    void reap_finished();

    // fixed after construction
    uint16_t target_port_;
    uint16_t port_ = 0;
    int listen_fd_ = -1;

    std::atomic<bool> stop_{false};
    std::atomic<bool> cut_{false};
    std::atomic<uint64_t> cuts_{0};  // bumped by cut(): connections older than it end
    std::thread acceptor_;
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex mutex_;
    std::vector<Worker> workers_;  // guarded by mutex_
};

}  // namespace sqlrep::test
