#pragma once
// A thread for long copies of the whole database (backups, snapshots for replicas), at a
// lower CPU priority (nice 10): when the CPU is short, the writer, reads and the
// replication stream go first, and the copy takes what is left. Work runs one piece at a
// time, in the order posted; any thread may post.

#include <utility>

#include "shared/net.hpp"

namespace sqlrep {

class BackgroundThread {
  public:
    BackgroundThread();
    // (Destroying it finishes the piece of work running, drops the others, and joins.)
    BackgroundThread(const BackgroundThread&) = delete;
    BackgroundThread& operator=(const BackgroundThread&) = delete;

    template <typename Fn>
    void post(Fn&& fn) {
        net::post(pool_, std::forward<Fn>(fn));
    }

  private:
    net::thread_pool pool_{1};
};

}  // namespace sqlrep
