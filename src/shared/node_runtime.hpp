#pragma once
// What both mains share once everything is built: run the io_context on a few threads
// until SIGINT or SIGTERM, then shut down in order.

#include <functional>

#include "shared/net.hpp"

namespace sqlrep {

// Blocks until a signal arrives. `on_signal` runs once, on an io_context thread; it
// should stop accepting. Then, once `in_flight()` is 0 (or after `drain_limit`), the
// io_context is stopped and the threads joined.
void run_until_signal(net::io_context& ioc, int threads, std::function<void()> on_signal,
                      std::function<std::size_t()> in_flight,
                      std::chrono::milliseconds drain_limit);

}  // namespace sqlrep
