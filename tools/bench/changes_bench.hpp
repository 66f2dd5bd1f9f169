#pragma once
// bench --changes: what one consumer of GET /changes on a replica costs the write path and
// how far behind the master it runs. On a 3-node cluster started here (or --nodes), in
// alternating rounds: quorum writes with no consumer, then the same writes while a
// consumer (SSE, or WebSocket with --changes-feed) follows replica 1's feed. Reports both write
// rates and their ratio, and the consumer's delay: the time it received each change minus the
// entry's time_ms (the master's clock when it ran the write; same machine, same clock),
// p50/p99/max. docs/PERFORMANCE.md has the numbers.
//
// Blocks for the whole run; throws Interrupted on SIGINT.

#include <ostream>

#include "bench_options.hpp"

namespace sqlrep::bench {

// Runs the measurement and prints its report (text, or JSON with options.json) to `out`.
void run_changes_bench(const BenchOptions& options, std::ostream& out);

}  // namespace sqlrep::bench
