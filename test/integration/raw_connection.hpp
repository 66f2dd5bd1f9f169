#pragma once
// A raw TCP connection to a node on 127.0.0.1, for tests that send what a well-behaved
// HTTP client never does (half a request, a trickle, nothing at all). Main thread only.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "cluster.hpp"

namespace sqlrep::test {

class RawConnection {
  public:
    explicit RawConnection(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("cannot connect to port " + std::to_string(port));
    }
    ~RawConnection() { ::close(fd_); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    void send(const std::string& bytes) {
        if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(bytes.size()))
            throw std::runtime_error("send failed");
    }

    // Reads until the peer closes the connection or `bound` passes; true when it closed.
    // Whatever arrived meanwhile goes to `received`.
    bool closed_within(std::chrono::milliseconds bound, std::string* received = nullptr) {
        auto deadline = Clock::now() + bound;
        char buf[4096];
        while (Clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            int left = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                    .count());
            if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return true;
            if (received) received->append(buf, static_cast<std::size_t>(n));
        }
        return false;
    }

  private:
    int fd_ = -1;
};

}  // namespace sqlrep::test
