#include "report.hpp"

#include <fstream>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace sqlrep::bench {

namespace {

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

std::string machine() {
    return fmt::format("{} x {}", std::thread::hardware_concurrency(), cpu_model());
}

std::optional<double> ratio(double a, double b) {
    if (a <= 0 || b <= 0) return std::nullopt;
    return a / b;
}

// One of the targets and whether this run met it.
struct Target {
    std::string what;
    std::optional<double> value;  // empty: not measured
    double bound;
    bool at_most;  // true: value must stay below bound
    std::string unit;

    std::string verdict() const {
        if (!value) return "n/a";
        return (at_most ? *value < bound : *value >= bound) ? "PASS" : "FAIL";
    }
};

struct Figures {
    double writes, reads, ack_master, lone = 0, dq_writes = 0, dq_reads = 0;
    Percentiles w, r, am, lo, dw, dr, lag;
};

Figures figures(BenchResults& res) {
    Figures f;
    f.writes = res.sqlrep_writes.ok_per_second();
    f.reads = res.sqlrep_reads.ok_per_second();
    f.ack_master = res.sqlrep_ack_master_writes.ok_per_second();
    f.w = Percentiles::of(res.sqlrep_writes.latency);
    f.r = Percentiles::of(res.sqlrep_reads.latency);
    f.am = Percentiles::of(res.sqlrep_ack_master_writes.latency);
    if (res.master_only_writes) {
        f.lone = res.master_only_writes->ok_per_second();
        f.lo = Percentiles::of(res.master_only_writes->latency);
    }
    if (res.dqlite_writes) {
        f.dq_writes = res.dqlite_writes->ok_per_second();
        f.dw = Percentiles::of(res.dqlite_writes->latency);
    }
    if (res.dqlite_reads) {
        f.dq_reads = res.dqlite_reads->ok_per_second();
        f.dr = Percentiles::of(res.dqlite_reads->latency);
    }
    f.lag = Percentiles::of(res.lag);
    return f;
}

std::vector<Target> targets(BenchResults& res, const Figures& f) {
    std::optional<double> lag_p99;
    if (res.lag.count() > 0) lag_p99 = f.lag.p99;
    std::optional<double> catch_up;
    if (res.catch_up && res.catch_up->completed) catch_up = res.catch_up->entries_per_second();
    std::optional<double> rss;
    if (res.master_peak_rss_kib > 0) rss = res.master_peak_rss_kib / 1024.0;
    return {
        {"replicated writes / dqlite writes", ratio(f.writes, f.dq_writes), 3, false, "x"},
        {"replica reads / dqlite follower reads", ratio(f.reads, f.dq_reads), 4, false, "x"},
        {"replicated writes / ack=master writes", ratio(f.writes, f.ack_master), 0.6, false, "x"},
        {"replication lag p99", lag_p99, 10, true, "ms"},
        {"catch-up rate", catch_up, 50000, false, "entries/s"},
        {"master peak RSS", rss, 150, true, "MiB"},
    };
}

json::object load_json(LoadResult& result) {
    Percentiles p = Percentiles::of(result.latency);
    return {{"ops_per_s", result.ok_per_second()},
            {"ok", result.ok},
            {"errors", result.errors},
            {"seconds", result.seconds},
            {"p50_ms", p.p50},
            {"p95_ms", p.p95},
            {"p99_ms", p.p99},
            {"max_ms", p.max},
            {"retries", result.retries},
            {"first_error", result.first_error}};
}

std::string line(const std::string& what, double ops, const Percentiles& p,
                 std::optional<double> vs = std::nullopt) {
    return fmt::format("{:<40} {:>10.0f}  {:>7.2f} {:>7.2f} {:>7.2f}{}\n", what, ops, p.p50, p.p95,
                       p.p99, vs ? fmt::format("   {:.2f}x", *vs) : std::string());
}

// --failover: the targets, both "value < bound".
std::vector<Target> failover_targets(BenchResults& res) {
    std::optional<double> vs_dqlite;
    if (res.sqlrep_failover && res.dqlite_failover)
        vs_dqlite = ratio(res.sqlrep_failover->first_write_ms.percentile(0.5),
                          res.dqlite_failover->first_write_ms.percentile(0.5));
    std::optional<double> lost;
    if (res.sqlrep_failover) lost = static_cast<double>(res.sqlrep_failover->lost);
    return {{"failover p50, sqlrep / dqlite", vs_dqlite, 1, true, "x"},
            {"acknowledged writes lost (sqlrep)", lost, 1, true, "writes"}};
}

void print_failover(std::ostream& out, BenchResults& res, const BenchOptions& options) {
    out << "machine   " << machine() << '\n';
    out << "command   " << options.command_line << '\n';
    out << fmt::format(
        "failover  {} SIGKILLs of the master (leader) per system, under {} clients writing "
        "new keys through every live node\n          (sqlrep: ack=quorum, etcd, default "
        "lease 3000 ms, --sync {}{})\n\n",
        options.failover_rounds, kClients, options.sync,
        res.dqlite_failover ? "; dqlite-demo " + res.dqlite_version : std::string());
    out << fmt::format("{:<10} {:>24} {:>9}   {:>9} {:>6}\n", "", "first write after SIGKILL", "",
                       "acked", "lost");
    out << fmt::format("{:<10} {:>24} {:>9}   {:>9} {:>6}\n", "system", "p50 ms", "max ms",
                       "writes", "writes");
    std::vector<FailoverResult*> all;
    if (res.sqlrep_failover) all.push_back(&*res.sqlrep_failover);
    if (res.dqlite_failover) all.push_back(&*res.dqlite_failover);
    for (FailoverResult* r : all)
        out << fmt::format("{:<10} {:>24.0f} {:>9.0f}   {:>9} {:>6}\n", r->system,
                           r->first_write_ms.percentile(0.5), r->first_write_ms.percentile(1.0),
                           r->acked, r->lost);
    out << "\nrounds\n";
    for (FailoverResult* r : all) {
        for (std::size_t i = 0; i < r->rounds.size(); ++i) {
            const FailoverRound& round = r->rounds[i];
            out << fmt::format(
                "  {} {}: node {} killed, first write after {:.0f} ms, node {} leads; {} acked, "
                "{} failed\n",
                r->system, i + 1, round.killed, round.first_write_ms, round.next_leader,
                round.acked, round.failed);
            if (!round.first_failure.empty())
                out << "      first failure after the kill: " << round.first_failure << '\n';
        }
        if (r->lost) out << fmt::format("  {}: lost e.g. {}\n", r->system, r->first_lost);
    }
    out << "\ntargets (issue 17)\n";
    for (const auto& t : failover_targets(res))
        out << fmt::format("  {:<4} {:<40} {:>12} (target {} {} {})\n", t.verdict(), t.what,
                           t.value ? fmt::format("{:.2f} {}", *t.value, t.unit) : "n/a",
                           t.at_most ? "<" : ">=", t.bound, t.unit);
}

json::object failover_json(FailoverResult& r) {
    json::array rounds;
    for (const auto& round : r.rounds)
        rounds.push_back({{"killed", round.killed},
                          {"first_write_ms", round.first_write_ms},
                          {"next_leader", round.next_leader},
                          {"acked", round.acked},
                          {"failed", round.failed},
                          {"first_failure", round.first_failure}});
    return {{"first_write_p50_ms", r.first_write_ms.percentile(0.5)},
            {"first_write_max_ms", r.first_write_ms.percentile(1.0)},
            {"acked", r.acked},
            {"lost", r.lost},
            {"first_lost", r.first_lost},
            {"rounds", std::move(rounds)}};
}

json::object failover_to_json(BenchResults& res, const BenchOptions& options) {
    json::object out;
    out["machine"] = {{"cpus", std::thread::hardware_concurrency()}, {"cpu_model", cpu_model()}};
    out["command"] = options.command_line;
    out["options"] = {{"failover_rounds", options.failover_rounds},
                      {"clients", kClients},
                      {"sync", options.sync}};
    if (res.sqlrep_failover) out["sqlrep_failover"] = failover_json(*res.sqlrep_failover);
    if (res.dqlite_failover) out["dqlite_failover"] = failover_json(*res.dqlite_failover);
    if (!res.dqlite_version.empty()) out["dqlite_version"] = res.dqlite_version;
    json::array verdicts;
    for (const auto& t : failover_targets(res)) {
        json::object v{
            {"target", t.what}, {"bound", t.bound}, {"unit", t.unit}, {"verdict", t.verdict()}};
        if (t.value) v["value"] = *t.value;
        verdicts.push_back(std::move(v));
    }
    out["targets"] = std::move(verdicts);
    return out;
}

}  // namespace

void print_text(std::ostream& out, BenchResults& res, const BenchOptions& options) {
    if (options.failover_rounds > 0) return print_failover(out, res, options);
    Figures f = figures(res);
    out << "machine   " << machine() << '\n';
    out << "command   " << options.command_line << '\n';
    out << fmt::format("load      {} clients, {:.0f} s per measurement, {} keys, --sync {}{}\n\n",
                       options.concurrency, options.duration_s, options.keyspace, options.sync,
                       res.dqlite_writes ? fmt::format(", {} alternating rounds (dqlite {})",
                                                       options.rounds, res.dqlite_version)
                                         : std::string());
    out << fmt::format("{:<40} {:>10}  {:>7} {:>7} {:>7}   {}\n", "measurement", "ops/s", "p50 ms",
                       "p95 ms", "p99 ms", "sqlrep/dqlite");
    out << line("sqlrep writes, ack=" + options.ack, f.writes, f.w, ratio(f.writes, f.dq_writes));
    if (res.dqlite_writes) out << line("dqlite PUT on the leader", f.dq_writes, f.dw);
    out << line("sqlrep point reads on a replica", f.reads, f.r, ratio(f.reads, f.dq_reads));
    if (res.dqlite_reads) out << line("dqlite GET on a follower", f.dq_reads, f.dr);
    out << line("sqlrep writes, ack=master", f.ack_master, f.am);
    if (res.master_only_writes) out << line("lone master writes (master 0)", f.lone, f.lo);
    std::vector<std::pair<const char*, LoadResult*>> all{
        {"sqlrep writes", &res.sqlrep_writes},
        {"sqlrep reads", &res.sqlrep_reads},
        {"sqlrep ack=master writes", &res.sqlrep_ack_master_writes}};
    if (res.master_only_writes) all.push_back({"lone master writes", &*res.master_only_writes});
    if (res.dqlite_writes) all.push_back({"dqlite PUT", &*res.dqlite_writes});
    if (res.dqlite_reads) all.push_back({"dqlite GET", &*res.dqlite_reads});
    for (auto& [name, r] : all) {
        if (r->retries)
            out << fmt::format("  {}: {} retried answers (\"database is locked\")\n", name,
                               r->retries);
        if (r->errors)
            out << fmt::format("  {}: {} failed, e.g. {}\n", name, r->errors, r->first_error);
    }

    if (res.lag.count() > 0)
        out << fmt::format(
            "\nreplication lag          p50 {:.2f}  p95 {:.2f}  p99 {:.2f}  max {:.2f} ms  "
            "({} samples under {:.0f} writes/s; probe read RTT p50 {:.2f} ms; {} failed)\n",
            f.lag.p50, f.lag.p95, f.lag.p99, f.lag.max, res.lag.count(),
            res.lag_phase_writes ? res.lag_phase_writes->ok_per_second() : 0.0,
            res.lag_read_rtt.percentile(0.5), res.lag_failures);
    if (!res.lag_first_failure.empty())
        out << "  first failed probe: " << res.lag_first_failure << '\n';
    if (res.catch_up)
        out << fmt::format(
            "catch-up                 {} entries in {:.2f} s = {:.0f} entries/s{} "
            "(written in {:.2f} s)\n",
            res.catch_up->entries, res.catch_up->seconds, res.catch_up->entries_per_second(),
            res.catch_up->completed ? "" : " TIMED OUT", res.catch_up->write_seconds);
    if (res.master_peak_rss_kib > 0) {
        out << fmt::format("master peak RSS          {:.1f} MiB (VmHWM); RSS after each phase:",
                           res.master_peak_rss_kib / 1024.0);
        for (const auto& sample : res.master_rss)
            out << fmt::format(" {:.0f}", sample.rss_kib / 1024.0);
        out << " MiB\n";
    }

    out << "\ntargets (issue 6)\n";
    for (const auto& t : targets(res, f))
        out << fmt::format("  {:<4} {:<40} {:>12} (target {} {} {})\n", t.verdict(), t.what,
                           t.value ? fmt::format("{:.2f} {}", *t.value, t.unit) : "n/a",
                           t.at_most ? "<" : ">=", t.bound, t.unit);
    if (auto lone = ratio(f.writes, f.lone))
        out << fmt::format(
            "for reference, no target\n       {:<40} {:>8.2f} x (three nodes share this "
            "machine's cores against one; docs/PERFORMANCE.md)\n",
            "replicated writes / lone master writes", *lone);
}

json::object to_json(BenchResults& res, const BenchOptions& options) {
    if (options.failover_rounds > 0) return failover_to_json(res, options);
    Figures f = figures(res);
    json::object out;
    out["machine"] = {{"cpus", std::thread::hardware_concurrency()}, {"cpu_model", cpu_model()}};
    out["command"] = options.command_line;
    out["options"] = {{"ack", options.ack},
                      {"concurrency", options.concurrency},
                      {"duration_s", options.duration_s},
                      {"rounds", options.rounds},
                      {"keyspace", options.keyspace},
                      {"sync", options.sync}};
    out["sqlrep_writes"] = load_json(res.sqlrep_writes);
    out["sqlrep_reads"] = load_json(res.sqlrep_reads);
    out["sqlrep_ack_master_writes"] = load_json(res.sqlrep_ack_master_writes);
    if (res.master_only_writes) out["master_only_writes"] = load_json(*res.master_only_writes);
    if (res.dqlite_writes) out["dqlite_writes"] = load_json(*res.dqlite_writes);
    if (res.dqlite_reads) out["dqlite_reads"] = load_json(*res.dqlite_reads);
    if (!res.dqlite_version.empty()) out["dqlite_version"] = res.dqlite_version;
    if (res.lag.count() > 0)
        out["lag_ms"] = {{"p50", f.lag.p50},
                         {"p95", f.lag.p95},
                         {"p99", f.lag.p99},
                         {"max", f.lag.max},
                         {"samples", res.lag.count()},
                         {"read_rtt_p50", res.lag_read_rtt.percentile(0.5)},
                         {"failures", res.lag_failures},
                         {"first_failure", res.lag_first_failure}};
    if (res.catch_up)
        out["catch_up"] = {{"entries", res.catch_up->entries},
                           {"seconds", res.catch_up->seconds},
                           {"write_seconds", res.catch_up->write_seconds},
                           {"entries_per_s", res.catch_up->entries_per_second()},
                           {"completed", res.catch_up->completed}};
    if (res.master_peak_rss_kib > 0) {
        out["master_peak_rss_mib"] = res.master_peak_rss_kib / 1024.0;
        json::array samples;
        for (const auto& s : res.master_rss)
            samples.push_back({{"after", s.after}, {"rss_mib", s.rss_kib / 1024.0}});
        out["master_rss"] = std::move(samples);
    }
    json::array verdicts;
    for (const auto& t : targets(res, f)) {
        json::object v{
            {"target", t.what}, {"bound", t.bound}, {"unit", t.unit}, {"verdict", t.verdict()}};
        if (t.value) v["value"] = *t.value;
        verdicts.push_back(std::move(v));
    }
    out["targets"] = std::move(verdicts);
    if (auto lone = ratio(f.writes, f.lone))
        out["reference"] = {{"replicated writes / lone master writes", *lone}};
    return out;
}

}  // namespace sqlrep::bench
