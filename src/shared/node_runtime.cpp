#include "shared/node_runtime.hpp"

#include <csignal>

#include <spdlog/spdlog.h>

namespace sqlrep {

namespace {

// Polls until nothing is in flight or the deadline passes, then stops the io_context.
void drain(net::io_context& ioc, std::shared_ptr<net::steady_timer> timer,
           std::function<std::size_t()> in_flight, std::chrono::steady_clock::time_point deadline) {
    if (in_flight() == 0 || std::chrono::steady_clock::now() >= deadline) {
        if (std::size_t left = in_flight())
            spdlog::warn("stopping with {} request(s) unanswered", left);
        // A last moment for responses already handed to their sessions to be written.
        timer->expires_after(std::chrono::milliseconds(50));
        return timer->async_wait([&ioc, timer](beast::error_code) { ioc.stop(); });
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([&ioc, timer, in_flight, deadline](beast::error_code) {
        drain(ioc, timer, in_flight, deadline);
    });
}

}  // namespace

void run_until_signal(IoThreads& io, std::function<void()> on_signal,
                      std::function<std::size_t()> in_flight,
                      std::chrono::milliseconds drain_limit) {
    net::io_context& ioc = io.main();
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code ec, int signal) {
        if (ec) return;
        spdlog::info("signal {} received: no new connections; finishing requests in flight",
                     signal);
        on_signal();
        drain(ioc, std::make_shared<net::steady_timer>(ioc), in_flight,
              std::chrono::steady_clock::now() + drain_limit);
    });
    io.run();
}

}  // namespace sqlrep
