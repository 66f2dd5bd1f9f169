#pragma once
// bench --scale MB: a big database (issue #20, "Big databases"). Starts a
// 3-node cluster (--log-retain 1000), fills it with MB megabytes of rows (1000-byte random
// blobs, 8 MB per write), measures the disk's own sequential write speed (a file of the
// same size written and fsynced, as `dd ... conv=fsync` does) and the write rate with no
// backup; then replica 2 joins again as a new node (files removed: it takes a snapshot)
// and its MB/s, the master's peak RSS and the write rate meanwhile are reported; then GET /backup
// is taken from replica 1 under the same write load, with its MB/s beside the disk's, the write
// rate during it as a ratio of the baseline, and every node's peak RSS (the backup is counted and
// dropped as it arrives); last, a backup is saved to a file and POSTed to /restore, timed until
// every replica holds it, with every node's peak RSS. Blocks for the whole run; throws Interrupted
// on SIGINT.

#include <cstdint>
#include <ostream>

#include "bench_options.hpp"

namespace sqlrep::bench {

void run_scale_bench(const BenchOptions& options, int64_t scale_mb, std::ostream& out);

}  // namespace sqlrep::bench
