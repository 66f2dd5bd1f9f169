#pragma once
// What both mains share once everything is built: run the I/O threads until SIGINT or
// SIGTERM, then shut down in order.

#include <functional>

#include "shared/io_threads.hpp"

namespace sqlrep {

// Blocks until a signal arrives. `on_signal` runs once, on the main I/O thread; it should
// stop accepting. Then, once `in_flight()` is 0 (or after `drain_limit`), every io_context
// is stopped and the threads joined.
void run_until_signal(IoThreads& io, std::function<void()> on_signal,
                      std::function<std::size_t()> in_flight,
                      std::chrono::milliseconds drain_limit);

}  // namespace sqlrep
