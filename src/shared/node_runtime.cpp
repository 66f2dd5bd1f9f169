#include "shared/node_runtime.hpp"

#include <csignal>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

namespace sqlrep {

void run_until_signal(net::io_context& ioc, int threads, std::function<void()> on_signal) {
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code ec, int signal) {
        if (ec) return;
        spdlog::info("signal {} received, shutting down", signal);
        on_signal();
        // Give responses already computed a moment to be written, then stop.
        auto timer = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds(200));
        timer->async_wait([&ioc, timer](beast::error_code) { ioc.stop(); });
    });
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
}

}  // namespace sqlrep
