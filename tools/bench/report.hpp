#pragma once
// Turns BenchResults into what bench prints: a text table (figures, ratios, the issue's
// targets with pass/fail) or one JSON object with the same content, plus the machine
// the numbers came from. With --failover only the failover figures (and their targets).

#include <ostream>

#include "bench_options.hpp"
#include "bench_results.hpp"
#include "shared/net.hpp"

namespace sqlrep::bench {

void print_text(std::ostream& out, BenchResults& results, const BenchOptions& options);
json::object to_json(BenchResults& results, const BenchOptions& options);

}  // namespace sqlrep::bench
