#include "shared/background_thread.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace sqlrep {

BackgroundThread::BackgroundThread() {
    // The first piece of work: lowers the priority of the pool's one thread, for good.
    net::post(pool_, [] {
        if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10) != 0)
            spdlog::debug("background thread: cannot lower its priority");
    });
}

}  // namespace sqlrep
