#include "interrupt.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace sqlrep::bench::interrupt {

namespace {
std::atomic<bool> g_requested{false};
}

void install() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
        for (;;) {
            int signal = 0;
            if (sigwait(&set, &signal) != 0) continue;
            if (g_requested.exchange(true)) ::_exit(130);
            const char message[] = "\nbench: interrupted, stopping every node ...\n";
            [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
        }
    }).detach();
}

bool requested() { return g_requested.load(std::memory_order_relaxed); }

void check() {
    if (requested()) throw Interrupted();
}

void sleep_for(std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    for (;;) {
        check();
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(20)));
    }
}

}  // namespace sqlrep::bench::interrupt
