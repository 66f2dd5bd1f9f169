#pragma once
// send_dummy --rows: inserts generated rows into the demo table `dummy` through one node,
// from several threads, each with its own HttpClient, and measures every request.
// run() blocks until every row has been tried; it reports progress on stderr if asked.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "latency_stats.hpp"
#include "shared/http_client.hpp"

namespace sqlrep::send_dummy {

// The demo table --rows writes to.
inline constexpr const char* kDummyTableDdl =
    "CREATE TABLE IF NOT EXISTS dummy (id INTEGER PRIMARY KEY, name TEXT, value REAL, "
    "created_at TEXT DEFAULT CURRENT_TIMESTAMP)";

struct LoadOptions {
    std::string target;    // origin of the node every insert goes to
    ClientOptions client;  // TLS and token for the target
    int64_t rows = 0;
    int concurrency = 1;
    std::string ack;  // empty: the node's default
    std::chrono::milliseconds timeout{10000};
    bool show_progress = false;
};

struct LoadResult {
    LatencyStats stats;
    double elapsed_s = 0;
};

class LoadRunner {
  public:
    explicit LoadRunner(LoadOptions options) : options_(std::move(options)) {}

    // Inserts options.rows rows, one request each; failures are counted, not thrown.
    // The table must exist (see create_table).
    LoadResult run();

  private:
    LoadOptions options_;
};

}  // namespace sqlrep::send_dummy
