#pragma once
// Runs a whole benchmark: starts (or attaches to) the sqlrep cluster, a lone master for the
// single-node baseline and, with --compare dqlite, a dqlite cluster; fills the tables;
// runs the measurements in rounds that alternate the systems (sqlrep writes, dqlite
// writes, sqlrep reads, dqlite reads, sqlrep ack=master writes, lone-master writes), then
// the lag and catch-up measurements; kills everything it started before returning.
// With --failover N it runs only the failover measurement (failover.hpp), on a sqlrep
// cluster with etcd and, with --compare dqlite, then on a dqlite cluster.
//
// Blocks for the whole run, printing progress on stderr. Throws Interrupted on SIGINT,
// std::runtime_error when a node cannot be started.

#include <cstdint>
#include <string>

#include "bench_options.hpp"
#include "bench_results.hpp"

namespace sqlrep::bench {

BenchResults run_bench(const BenchOptions& options);

// One exec through `url`; throws with the node's answer when it is not a 200. Returns
// the entry's index.
int64_t exec(const std::string& url, const std::string& sql, const ClientOptions& options);

}  // namespace sqlrep::bench
