#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace sqlrep::test {

namespace {

// How long a proxy thread waits before it looks at its stop and cut flags again.
constexpr int kPollMs = 50;

sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return addr;
}

// Writes all of `data`; false when the peer is gone.
bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// A listening socket on a free 127.0.0.1 port, which it stores in `port`.
int listen_on_loopback(uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("proxy socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 128) != 0) {
        std::string err = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("proxy bind/listen: " + err);
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    return fd;
}

// A connection to 127.0.0.1:`port`, or -1.
int connect_to_loopback(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(port);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
}

// An abortive close (RST), as when a link dies.
void reset_and_close(int fd) {
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
}

}  // namespace

TcpProxy::TcpProxy(uint16_t target_port) : target_port_(target_port) {
    listen_fd_ = listen_on_loopback(port_);
    acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> relays;
    {
        std::lock_guard lock(mutex_);
        relays.swap(relays_);
    }
    for (auto& t : relays)
        if (t.joinable()) t.join();
    ::close(listen_fd_);
}

std::string TcpProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void TcpProxy::cut_once_after(uint64_t bytes) { cut_after_ = static_cast<int64_t>(bytes); }

void TcpProxy::accept_loop() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        int r = ::poll(&p, 1, kPollMs);
        if (r <= 0) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++connections_;
        std::lock_guard lock(mutex_);
        relays_.emplace_back([this, fd] { relay(fd); });
    }
}

void TcpProxy::relay(int client_fd) {
    int target_fd = connect_to_loopback(target_port_);
    if (target_fd < 0) {
        ::close(client_fd);
        return;
    }
    std::vector<char> buf(64 * 1024);
    uint64_t to_client = 0;
    bool open = true;
    bool cut = false;
    while (open && !stop_) {
        pollfd p[2] = {{client_fd, POLLIN, 0}, {target_fd, POLLIN, 0}};
        int r = ::poll(p, 2, kPollMs);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        for (int i = 0; i < 2 && open; ++i) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int from = i == 0 ? client_fd : target_fd;
            int to = i == 0 ? target_fd : client_fd;
            ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                open = false;
                break;
            }
            std::size_t size = static_cast<std::size_t>(n);
            if (i == 1) {
                int64_t limit = cut_after_.load();
                if (limit >= 0 && to_client + size > static_cast<uint64_t>(limit)) {
                    // Relay up to the limit, then tear the connection down mid-transfer.
                    if (cut_after_.compare_exchange_strong(limit, -1)) {
                        std::size_t part = static_cast<std::size_t>(
                            static_cast<uint64_t>(limit) - std::min<uint64_t>(to_client, limit));
                        send_all(to, buf.data(), part);
                        bytes_to_client_ += part;
                        ++cuts_;
                        cut = true;
                        open = false;
                        break;
                    }
                }
                to_client += size;
                bytes_to_client_ += size;
            }
            if (!send_all(to, buf.data(), size)) open = false;
        }
    }
    if (cut) {
        reset_and_close(client_fd);
        reset_and_close(target_fd);
        return;
    }
    ::close(client_fd);
    ::close(target_fd);
}

// ---------------------------------------------------------------------------------------
// LinkProxy

LinkProxy::LinkProxy(uint16_t target_port) : target_port_(target_port) {
    listen_fd_ = listen_on_loopback(port_);
    acceptor_ = std::thread([this] { accept_loop(); });
}

LinkProxy::~LinkProxy() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<Worker> workers;
    {
        std::lock_guard lock(mutex_);
        workers.swap(workers_);
    }
    for (auto& w : workers)
        if (w.thread.joinable()) w.thread.join();
    ::close(listen_fd_);
}

std::string LinkProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void LinkProxy::cut() {
    cut_ = true;
    ++cuts_;
}

void LinkProxy::heal() { cut_ = false; }

void LinkProxy::reap_finished() {
    std::lock_guard lock(mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
        if (it->done->load()) {
            it->thread.join();
            it = workers_.erase(it);
        } else {
            ++it;
        }
    }
}

void LinkProxy::accept_loop() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        int r = ::poll(&p, 1, kPollMs);
        reap_finished();
        if (r <= 0) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        auto done = std::make_shared<std::atomic<bool>>(false);
        const uint64_t born = cuts_.load();  // before cut_: a cut() in between ends it
        const bool silent = cut_.load();
        std::lock_guard lock(mutex_);
        workers_.push_back({std::thread([this, fd, done, silent, born] {
                                if (silent)
                                    hold(fd);
                                else
                                    relay(fd, born);
                                *done = true;
                            }),
                            done});
    }
}

// A connection accepted while cut: never answered; closed at heal() or shutdown.
void LinkProxy::hold(int client_fd) {
    while (!stop_ && cut_) std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    reset_and_close(client_fd);
}

void LinkProxy::relay(int client_fd, uint64_t born) {
    int target_fd = connect_to_loopback(target_port_);
    if (target_fd < 0) {
        ::close(client_fd);
        return;
    }
    std::vector<char> buf(64 * 1024);
    bool open = true;
    while (open && !stop_ && cuts_.load() == born) {
        pollfd p[2] = {{client_fd, POLLIN, 0}, {target_fd, POLLIN, 0}};
        int r = ::poll(p, 2, kPollMs);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0 || cuts_.load() != born) continue;
        for (int i = 0; i < 2 && open; ++i) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int from = i == 0 ? client_fd : target_fd;
            int to = i == 0 ? target_fd : client_fd;
            ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0 || !send_all(to, buf.data(), static_cast<std::size_t>(n))) open = false;
        }
    }
    if (cuts_.load() != born) {
        reset_and_close(client_fd);
        reset_and_close(target_fd);
        return;
    }
    ::close(client_fd);
    ::close(target_fd);
}

}  // namespace sqlrep::test
