#pragma once
// Closed-loop load: `concurrency` threads, each with its own keep-alive connection
// (plain_http_connection.hpp; HttpClient for https), send the workload's requests back to
// back to one node until the duration has passed (or a request budget is spent) and record
// every request's latency. Each thread sends one untimed warm-up request (opening its
// connection) before the clock starts.
//
// A request the workload calls retryable is sent again, up to kMaxRetries times, and counts
// as one operation whose latency spans every attempt.
//
// run_load() blocks for the whole run; it stops early on SIGINT and then throws
// Interrupted. Failed requests are counted, never thrown.

#include <chrono>
#include <cstdint>
#include <string>

#include "latency_stats.hpp"
#include "shared/http_client.hpp"
#include "workload.hpp"

namespace sqlrep::bench {

struct LoadSpec {
    std::string origin;    // "http://127.0.0.1:port"
    ClientOptions client;  // bearer token and TLS context, if the target needs them
    int concurrency = 16;
    std::chrono::milliseconds duration{10000};
    int64_t max_requests = 0;  // > 0: stop after this many requests, whatever the duration
    std::chrono::milliseconds timeout{10000};
};

struct LoadResult {
    int64_t ok = 0;
    int64_t errors = 0;
    double seconds = 0;
    LatencyStats latency;     // successful requests only
    std::string first_error;  // an example failure, for the report
    int64_t retries = 0;      // transient failures sent again (see Workload::retryable)

    double ok_per_second() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
    // Accumulates another run of the same measurement (rounds of an alternating comparison).
    void merge(const LoadResult& other);
};

LoadResult run_load(const LoadSpec& spec, const Workload& workload);

}  // namespace sqlrep::bench
