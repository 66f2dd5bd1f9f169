#include "load_generator.hpp"

#include <atomic>
#include <barrier>
#include <cctype>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "interrupt.hpp"
#include "plain_http_connection.hpp"
#include "shared/error.hpp"

namespace sqlrep::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxRetries = 1000;

struct WorkerResult {
    int64_t ok = 0;
    int64_t errors = 0;
    LatencyStats latency;
    std::string first_error;
    int64_t retries = 0;
};

}  // namespace

void LoadResult::merge(const LoadResult& other) {
    ok += other.ok;
    errors += other.errors;
    seconds += other.seconds;
    latency.merge(other.latency);
    retries += other.retries;
    if (first_error.empty()) first_error = other.first_error;
}

LoadResult run_load(const LoadSpec& spec, const Workload& workload) {
    const auto concurrency = static_cast<std::size_t>(spec.concurrency);
    std::vector<WorkerResult> results(concurrency);
    std::atomic<int64_t> budget{spec.max_requests > 0 ? spec.max_requests : INT64_MAX};
    std::barrier ready(static_cast<std::ptrdiff_t>(concurrency + 1));
    Clock::time_point start;
    Clock::time_point deadline;

    auto worker = [&](std::size_t w) {
        WorkerResult& mine = results[w];
        std::mt19937_64 random(std::random_device{}() + w);
        Request request;
        // https needs TLS, which only HttpClient speaks; plain http takes the cheap path.
        const Url url = parse_url(spec.origin);
        std::optional<PlainHttpConnection> plain;
        std::optional<HttpClient> client;
        if (url.scheme == "http")
            plain.emplace(url, spec.client.bearer_token, spec.timeout);
        else
            client.emplace(spec.origin, spec.client);
        auto send_once = [&] {
            return plain ? plain->request(request)
                         : client->request(request.method, request.target, request.body, {},
                                           spec.timeout);
        };
        auto send = [&]() -> std::string {  // "" on success, else what went wrong
            try {
                HttpResult result = send_once();
                for (int retry = 0;
                     retry < kMaxRetries && workload.retryable(result) && !interrupt::requested();
                     ++retry) {
                    ++mine.retries;
                    result = send_once();
                }
                if (workload.succeeded(result)) return {};
                std::string body = result.body.substr(0, 200);
                while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
                    body.pop_back();
                return "HTTP " + std::to_string(result.status) + ": " + body;
            } catch (const std::exception& e) {
                return e.what();
            }
        };
        workload.next(request, random);
        send();                   // warm-up: opens the connection
        ready.arrive_and_wait();  // every worker is warm
        ready.arrive_and_wait();  // the clock has been set
        while (!interrupt::requested() && Clock::now() < deadline &&
               budget.fetch_sub(1, std::memory_order_relaxed) > 0) {
            workload.next(request, random);
            const auto sent = Clock::now();
            std::string error = send();
            const double ms =
                std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
            if (error.empty()) {
                ++mine.ok;
                mine.latency.record(ms);
            } else {
                ++mine.errors;
                if (mine.first_error.empty()) mine.first_error = error;
            }
        }
    };

    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < concurrency; ++w) threads.emplace_back(worker, w);
    // The clock starts once every worker has its connection; the workers read `deadline`
    // only after the second phase of the barrier, which orders this write before them.
    ready.arrive_and_wait();
    start = Clock::now();
    deadline = start + spec.duration;
    ready.arrive_and_wait();
    for (auto& thread : threads) thread.join();
    const auto end = Clock::now();
    interrupt::check();

    LoadResult total;
    total.seconds = std::chrono::duration<double>(end - start).count();
    for (auto& mine : results) {
        total.ok += mine.ok;
        total.errors += mine.errors;
        total.latency.merge(mine.latency);
        total.retries += mine.retries;
        if (total.first_error.empty()) total.first_error = mine.first_error;
    }
    return total;
}

}  // namespace sqlrep::bench
