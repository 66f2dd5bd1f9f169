#include "replication_probe.hpp"

#include <chrono>

#include "interrupt.hpp"
#include "load_generator.hpp"
#include "shared/http_client.hpp"
#include "shared/net.hpp"
#include "sqlrep_cluster.hpp"
#include "workload.hpp"

namespace sqlrep::bench {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void expect_ok(const char* what, const HttpResult& result) {
    if (result.status != 200)
        throw std::runtime_error(std::string(what) + ": HTTP " + std::to_string(result.status) +
                                 " " + result.body.substr(0, 200));
}

}  // namespace

LagProbe::LagProbe(std::string master_url, std::vector<std::string> replica_urls,
                   ClientOptions client)
    : master_url_(std::move(master_url)),
      replica_urls_(std::move(replica_urls)),
      client_(std::move(client)) {}

LagProbe::~LagProbe() { stop(); }

void LagProbe::start() {
    stopping_ = false;
    for (std::size_t i = 0; i < replica_urls_.size(); ++i) {
        samplers_.push_back(std::make_unique<Sampler>());
        threads_.emplace_back(&LagProbe::probe, this, replica_urls_[i], std::ref(*samplers_.back()),
                              static_cast<int>(i + 1));
    }
}

void LagProbe::stop() {
    stopping_ = true;
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    for (auto& sampler : samplers_) {
        lag_.merge(sampler->lag);
        read_rtt_.merge(sampler->read_rtt);
        failures_ += sampler->failures;
        if (first_failure_.empty()) first_failure_ = sampler->first_failure;
    }
    samplers_.clear();
}

void LagProbe::probe(const std::string& replica_url, Sampler& sampler, int id) {
    HttpClient master(master_url_, client_);
    HttpClient replica(replica_url, client_);
    const std::string write =
        R"j({"command":"exec","query":"INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)",)j"
        R"("ack":"master","params":["lag-probe-)" +
        std::to_string(id) + R"(","x"]})";
    const std::string plain_read = R"({"command":"query","query":"SELECT 1"})";
    while (!stopping_ && !interrupt::requested()) {
        try {
            auto sent = Clock::now();
            expect_ok("replica read", replica.post("/", plain_read, {}, 5s));
            sampler.read_rtt.record(ms_since(sent));

            HttpResult written = master.post("/", write, {}, 10s);
            const auto committed = Clock::now();
            expect_ok("master write", written);
            const int64_t index = json::parse(written.body).at("index").to_number<int64_t>();
            const std::string wait = R"({"command":"query","query":"SELECT 1","min_index":)" +
                                     std::to_string(index) + "}";
            expect_ok("replica read with min_index", replica.post("/", wait, {}, 10s));
            sampler.lag.record(ms_since(committed));
        } catch (const std::exception& e) {
            if (sampler.failures++ == 0) sampler.first_failure = e.what();
        }
        std::this_thread::sleep_for(10ms);
    }
}

CatchUpResult measure_catch_up(const std::string& master_url, const std::string& replica_url,
                               ChildProcess& replica, int64_t entries, int concurrency,
                               int64_t keyspace) {
    struct ResumeOnExit {
        ChildProcess& process;
        ~ResumeOnExit() { process.resume(); }
    } resume_on_exit{replica};

    CatchUpResult result;
    const int64_t before = SqlrepCluster::applied_index(replica_url);
    replica.stop();

    LoadSpec spec;
    spec.origin = master_url;
    spec.concurrency = concurrency;
    spec.duration = std::chrono::hours(1);
    spec.max_requests = entries;
    auto workload = sqlrep_upsert(keyspace, "quorum");
    LoadResult written = run_load(spec, *workload);
    result.write_seconds = written.seconds;

    const int64_t target = SqlrepCluster::applied_index(master_url);
    result.entries = target - before;
    const auto resumed = Clock::now();
    replica.resume();
    result.completed = SqlrepCluster::wait_applied(replica_url, target, std::chrono::minutes(5));
    result.seconds = std::chrono::duration<double>(Clock::now() - resumed).count();
    return result;
}

}  // namespace sqlrep::bench
