#pragma once
// One etcd member for bench's failover measurement: Debian's `etcd` (package etcd-server,
// installed with apt-get when missing) on free 127.0.0.1 client and peer ports, its data
// and log in a temp dir. start() returns once GET /health says {"health":"true"}; the
// destructor kills the process (SIGKILL + waitpid) before removing the dir.
//
// Thread contract: main thread only. url() may be read from any thread.

#include <memory>
#include <string>

#include "child_process.hpp"
#include "scratch_dir.hpp"

namespace sqlrep::bench {

class EtcdMember {
  public:
    // Throws std::runtime_error (with the log tail) when etcd cannot be installed, exits or
    // is not healthy within 30 s; Interrupted on SIGINT.
    static std::unique_ptr<EtcdMember> start();
    ~EtcdMember();
    EtcdMember(const EtcdMember&) = delete;
    EtcdMember& operator=(const EtcdMember&) = delete;

    // The client URL, "http://127.0.0.1:<port>".
    const std::string& url() const { return url_; }

  private:
    EtcdMember() = default;

    std::unique_ptr<ScratchDir> dir_;  // declared first: removed after the process is gone
    std::unique_ptr<ChildProcess> process_;
    std::string url_;
};

}  // namespace sqlrep::bench
