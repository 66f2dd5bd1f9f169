#include "scratch_dir.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace sqlrep::bench {

ScratchDir::ScratchDir(const std::string& prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
}

ScratchDir::~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string ScratchDir::sub(const std::string& name, bool make) const {
    std::string path = path_ + "/" + name;
    if (make) std::filesystem::create_directories(path);
    return path;
}

std::vector<uint16_t> free_ports(int count) {
    std::vector<int> fds;
    std::vector<uint16_t> ports;
    auto close_all = [&] {
        for (int fd : fds) ::close(fd);
    };
    for (int i = 0; i < count; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            close_all();
            throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        }
        fds.push_back(fd);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            close_all();
            throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
        }
        ports.push_back(ntohs(addr.sin_port));
    }
    close_all();
    return ports;
}

}  // namespace sqlrep::bench
