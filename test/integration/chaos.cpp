#include "chaos.hpp"

#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace sqlrep::test {

namespace {

const char* kTable =
    "CREATE TABLE IF NOT EXISTS chaos (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "writer TEXT NOT NULL, seq INTEGER NOT NULL, val TEXT NOT NULL, UNIQUE(writer, seq))";

// Longer than any pause the driver injects, so a write to a paused node is answered
// after SIGCONT rather than abandoned.
constexpr std::chrono::milliseconds kWriteTimeout = 15s;
constexpr std::size_t kMaxSamples = 10;
constexpr int64_t kPageRows = 20000;

std::string join_counts(const std::map<std::string, int64_t>& counts) {
    std::string out;
    for (const auto& [name, n] : counts) {
        if (!out.empty()) out += " ";
        out += name + "=" + std::to_string(n);
    }
    return out.empty() ? "none" : out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// ChaosReport

std::string ChaosReport::summary() const {
    int64_t total_faults = 0;
    for (const auto& [kind, n] : faults) total_faults += n;
    std::ostringstream out;
    out << "chaos summary: seed=" << seed << " faults=" << total_faults << " ("
        << join_counts(faults) << "; by node: " << join_counts(faults_by_node) << ")"
        << " writes attempted=" << attempted << " acked=" << acked
        << " (outcomes: " << join_counts(outcomes) << ") unexpected=" << unexpected
        << " rows on master=" << rows_on_master << " wrong values=" << wrong_values
        << " writes lost=" << lost;
    if (!missing_by_node.empty())
        out << " (missing by node: " << join_counts(missing_by_node) << ")";
    return out.str();
}

// ---------------------------------------------------------------------------------------
// ChaosDriver

ChaosDriver::ChaosDriver(Cluster& cluster, ChaosOptions options)
    : cluster_(cluster), options_(std::move(options)) {
    if (options_.seed == 0)
        options_.seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    report_.seed = options_.seed;
    rng_.seed(options_.seed);
    started_ = Clock::now();
    say("chaos seed " + std::to_string(options_.seed) +
        " (rerun with this seed to replay the faults)");
}

ChaosDriver::~ChaosDriver() = default;

void ChaosDriver::say(const std::string& line) {
    double t = std::chrono::duration<double>(Clock::now() - started_).count();
    std::ostringstream out;
    out << "[chaos +" << std::fixed << std::setprecision(1) << t << "s] " << line;
    if (options_.log) {
        options_.log(out.str());
    } else {
        std::cout << out.str() << "\n" << std::flush;
    }
}

std::chrono::milliseconds ChaosDriver::uniform_ms(int64_t lo, int64_t hi) {
    if (hi <= lo) return std::chrono::milliseconds(lo);
    return std::chrono::milliseconds(
        lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1)));
}

void ChaosDriver::setup() {
    int64_t index = cluster_.exec_ok(cluster_.master(), kTable);
    cluster_.wait_all_applied(index);
}

void ChaosDriver::inject_fault() {
    std::vector<Node*> nodes = cluster_.nodes();
    std::size_t which = static_cast<std::size_t>(rng_() % nodes.size());
    Node& node = *nodes[which];
    const int node_id = static_cast<int>(which);  // 0 master, then replicas 1..N
    const uint64_t roll = rng_() % 100;
    std::string kind;
    if (roll < 30) {
        kind = "kill";
    } else if (roll < 65) {
        kind = "pause";
    } else if (roll < 80 || node_id == 0 || !options_.wipe_replicas) {
        kind = "term";
    } else {
        kind = "wipe";
    }
    ++report_.faults[kind];
    ++report_.faults_by_node[node.name()];
    const auto began = Clock::now();

    if (kind == "kill" || kind == "wipe") {
        auto down = uniform_ms(0, options_.max_down.count());
        say(kind + " " + node.name() + " (down " + std::to_string(down.count()) + " ms)");
        node.kill();
        if (kind == "wipe") cluster_.wipe_files(node_id);
        std::this_thread::sleep_for(down);
        node.start();
        node.wait_ready();
    } else if (kind == "pause") {
        auto paused = uniform_ms(300, options_.max_pause.count());
        say("pause " + node.name() + " for " + std::to_string(paused.count()) + " ms");
        node.stop();
        std::this_thread::sleep_for(paused);
        node.resume();
    } else {
        say("term " + node.name() + " (SIGTERM, then restart)");
        ExitInfo e = node.terminate(20s);
        auto exit_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
        if (exit_ms > 5s)
            say("  (" + node.name() + " took " + std::to_string(exit_ms.count()) +
                " ms to exit on SIGTERM)");
        if (!e.exited || e.code != 0)
            report_.problems.push_back(node.name() + " did not exit 0 on SIGTERM: " + e.describe());
        node.start();
        node.wait_ready();
    }
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
    if (took > 5s)
        say("  (" + kind + " of " + node.name() + " took " + std::to_string(took.count()) + " ms)");
}

void ChaosDriver::run(std::chrono::milliseconds duration) {
    ++round_;
    std::vector<std::unique_ptr<AckedWriter>> writers;
    for (Node* node : cluster_.nodes()) {
        for (int k = 0; k < options_.writers_per_node; ++k) {
            writers.push_back(std::make_unique<AckedWriter>(
                "r" + std::to_string(round_) + "-" + node->name() + "-w" + std::to_string(k),
                node->url(), "chaos", std::vector<std::string>{"quorum"}, kWriteTimeout));
        }
    }
    // Stops the writers and takes their results, whether the faults ended well or not.
    auto collect = [&] {
        for (auto& w : writers) w->finish();
        for (auto& w : writers) {
            report_.attempted += w->attempted();
            report_.acked += static_cast<int64_t>(w->acked().size());
            for (const auto& [what, n] : w->outcomes()) report_.outcomes[what] += n;
            report_.unexpected += w->unexpected_count();
            for (const auto& u : w->unexpected())
                if (report_.unexpected_samples.size() < kMaxSamples)
                    report_.unexpected_samples.push_back(u);
            auto& acked = acked_[w->name()];
            acked.insert(acked.end(), w->acked().begin(), w->acked().end());
        }
        writers.clear();
    };

    say("round " + std::to_string(round_) + ": " + std::to_string(writers.size()) +
        " writers for " + std::to_string(duration.count() / 1000) + " s");
    for (auto& w : writers) w->start();
    auto deadline = Clock::now() + duration;
    try {
        while (true) {
            std::this_thread::sleep_for(uniform_ms(300, 1500));
            if (Clock::now() >= deadline) break;
            inject_fault();
        }
    } catch (...) {
        collect();
        throw;
    }
    collect();
    say("round " + std::to_string(round_) + " done: " + report_.summary());
}

void ChaosDriver::verify() {
    say("verify: every node up, waiting for convergence");
    for (Node* node : cluster_.nodes()) {
        if (!node->running()) {
            node->start();
        } else {
            node->resume();  // harmless when it runs
        }
    }
    for (Node* node : cluster_.nodes()) node->wait_ready();
    cluster_.wait_converged(options_.converge_timeout);

    report_.lost = 0;
    report_.wrong_values = 0;
    report_.missing_by_node.clear();
    report_.lost_samples.clear();
    std::set<std::pair<std::string, int64_t>> lost;
    for (Node* node : cluster_.nodes()) {
        // Every row, a page at a time (a soak outgrows one answer).
        std::map<std::pair<std::string, int64_t>, std::string> present;
        NodeClient client(node->url());
        int64_t after = 0;
        while (true) {
            Response r = client.query(
                "SELECT id, writer, seq, val FROM chaos WHERE id > ? ORDER BY id LIMIT ?",
                json::array{after, kPageRows}, {}, 60s);
            if (!r.ok())
                throw std::runtime_error(node->name() +
                                         " cannot read table chaos: " + r.describe());
            const json::array& rows = r.rows();
            for (const auto& row : rows) {
                const auto& f = row.as_array();
                after = f.at(0).as_int64();
                present.emplace(
                    std::make_pair(std::string(f.at(1).as_string()), f.at(2).as_int64()),
                    std::string(f.at(3).as_string()));
            }
            if (static_cast<int64_t>(rows.size()) < kPageRows) break;
        }
        if (node == &cluster_.master())
            report_.rows_on_master = static_cast<int64_t>(present.size());
        int64_t missing = 0;
        for (const auto& [writer, acked] : acked_) {
            for (const auto& a : acked) {
                auto it = present.find({writer, a.seq});
                if (it == present.end()) {
                    ++missing;
                    lost.emplace(writer, a.seq);
                    if (report_.lost_samples.size() < kMaxSamples)
                        report_.lost_samples.push_back(node->name() + " lacks " + writer + " seq " +
                                                       std::to_string(a.seq));
                } else if (it->second != a.value) {
                    ++report_.wrong_values;
                    if (report_.lost_samples.size() < kMaxSamples)
                        report_.lost_samples.push_back(node->name() + " has " + writer + " seq " +
                                                       std::to_string(a.seq) + " = " + it->second +
                                                       ", acked " + a.value);
                }
            }
        }
        if (missing > 0) report_.missing_by_node[node->name()] = missing;
    }
    report_.lost = static_cast<int64_t>(lost.size());

    for (int id = 1; id <= cluster_.replica_count(); ++id) {
        json::object s = cluster_.status(cluster_.replica(id));
        const auto* state = s.if_contains("state");
        if (!state || !state->is_string() || state->as_string() != "following")
            report_.problems.push_back(cluster_.replica(id).name() +
                                       " is not following at the end: " + json::serialize(s));
    }
    say(report_.summary());
}

}  // namespace sqlrep::test
