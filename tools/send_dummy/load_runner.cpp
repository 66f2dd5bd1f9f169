#include "load_runner.hpp"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "progress_bar.hpp"
#include "shared/error.hpp"
#include "shared/http_client.hpp"
#include "sql_request.hpp"

namespace sqlrep::send_dummy {

namespace {

// Shared by the workers and the progress reporter.
struct Progress {
    std::atomic<int64_t> next_row{0};
    std::atomic<int64_t> done{0};
    std::atomic<int64_t> errors{0};
};

// A prefix that makes this run's names unique, so runs can be told apart in the table.
std::string run_tag() {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

void insert_rows(const LoadOptions& options, const std::string& tag, Progress& progress,
                 LatencyStats& stats) {
    std::mt19937_64 random(std::random_device{}());
    std::uniform_real_distribution<double> values(0, 1000);
    std::unique_ptr<HttpClient> client;
    try {
        client = std::make_unique<HttpClient>(options.target, options.client);
    } catch (const std::exception&) {
        return;  // main() checked the URL already; nothing to count
    }
    const std::string sql = "INSERT INTO dummy (name, value) VALUES (?, ?)";

    for (;;) {
        int64_t row = progress.next_row.fetch_add(1);
        if (row >= options.rows) return;
        json::array params{json::string("dummy-" + tag + "-" + std::to_string(row)),
                           std::round(values(random) * 100) / 100};
        json::object body = exec_body(sql, json::value(std::move(params)), options.ack);

        auto start = std::chrono::steady_clock::now();
        std::string kind;
        std::string message;
        try {
            SqlAnswer answer = send_sql(*client, body, options.timeout);
            if (!answer.ok()) {
                kind = "HTTP " + std::to_string(answer.status);
                message = answer.error();
            }
        } catch (const Error& e) {
            kind = e.kind() == ErrorKind::timeout ? "timeout" : "unreachable";
            message = e.what();
        }
        double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (kind.empty()) {
            stats.record_ok(ms);
        } else {
            stats.record_error(ms, kind, message);
            progress.errors.fetch_add(1);
        }
        progress.done.fetch_add(1);
    }
}

}  // namespace

LoadResult LoadRunner::run() {
    const std::string tag = run_tag();
    Progress progress;
    std::vector<LatencyStats> per_worker(static_cast<size_t>(options_.concurrency));
    std::mutex mutex;
    std::condition_variable finished_cv;
    int running = options_.concurrency;

    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < options_.concurrency; ++w)
        workers.emplace_back([&, w] {
            insert_rows(options_, tag, progress, per_worker[static_cast<size_t>(w)]);
            std::lock_guard lock(mutex);
            if (--running == 0) finished_cv.notify_all();
        });

    if (options_.show_progress) {
        ProgressBar bar(options_.rows);
        std::unique_lock lock(mutex);
        while (!finished_cv.wait_for(lock, std::chrono::milliseconds(200),
                                     [&] { return running == 0; }))
            bar.update(progress.done.load(), progress.errors.load());
        bar.finish();
    }
    for (auto& worker : workers) worker.join();

    LoadResult result;
    result.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& stats : per_worker) result.stats.merge(stats);
    return result;
}

}  // namespace sqlrep::send_dummy
