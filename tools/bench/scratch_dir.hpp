#pragma once
// A temporary directory that is removed with everything in it when destroyed, and the
// free loopback ports bench gives the nodes it starts.

#include <cstdint>
#include <string>
#include <vector>

namespace sqlrep::bench {

class ScratchDir {
  public:
    // mkdtemp under $TMPDIR (or /tmp) with `prefix`. Throws std::runtime_error on failure.
    explicit ScratchDir(const std::string& prefix);
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::string& path() const { return path_; }
    // path()/name, created as a directory when `make` is set.
    std::string sub(const std::string& name, bool make = false) const;

  private:
    std::string path_;
};

// `count` distinct free ports on 127.0.0.1 (bound to port 0 together, then released).
std::vector<uint16_t> free_ports(int count);

}  // namespace sqlrep::bench
