#include "latency_stats.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sqlrep::send_dummy {

void LatencyStats::record_ok(double latency_ms) {
    latencies_ms_.push_back(latency_ms);
    sorted_ = false;
}

void LatencyStats::record_error(double latency_ms, const std::string& kind,
                                const std::string& message) {
    latencies_ms_.push_back(latency_ms);
    sorted_ = false;
    ++errors_;
    auto& entry = errors_by_kind_[kind];
    if (entry.count++ == 0) entry.example = message;
}

void LatencyStats::merge(const LatencyStats& other) {
    latencies_ms_.insert(latencies_ms_.end(), other.latencies_ms_.begin(),
                         other.latencies_ms_.end());
    sorted_ = false;
    errors_ += other.errors_;
    for (const auto& [kind, theirs] : other.errors_by_kind_) {
        auto& ours = errors_by_kind_[kind];
        if (ours.count == 0) ours.example = theirs.example;
        ours.count += theirs.count;
    }
}

double LatencyStats::percentile(double fraction) {
    if (latencies_ms_.empty()) return 0;
    if (!sorted_) {
        std::sort(latencies_ms_.begin(), latencies_ms_.end());
        sorted_ = true;
    }
    auto rank =
        static_cast<size_t>(std::ceil(fraction * static_cast<double>(latencies_ms_.size())));
    return latencies_ms_[std::clamp<size_t>(rank, 1, latencies_ms_.size()) - 1];
}

void LatencyStats::print_summary(std::ostream& out, double elapsed_s) {
    const int64_t total = requests();
    out << fmt::format("requests     {} ({} ok, {} failed)\n", total, total - errors_, errors_);
    for (const auto& [kind, entry] : errors_by_kind_)
        out << fmt::format("  {:<11} {}  e.g. {}\n", kind + ":", entry.count, entry.example);
    out << fmt::format("elapsed      {:.2f} s\n", elapsed_s);
    if (elapsed_s > 0) {
        out << fmt::format("throughput   {:.1f} req/s", static_cast<double>(total) / elapsed_s);
        if (errors_ > 0)
            out << fmt::format(" ({:.1f} ok/s)", static_cast<double>(total - errors_) / elapsed_s);
        out << '\n';
    }
    if (total > 0)
        out << fmt::format("latency ms   p50 {:.2f}  p95 {:.2f}  p99 {:.2f}  max {:.2f}\n",
                           percentile(0.50), percentile(0.95), percentile(0.99), percentile(1.0));
}

}  // namespace sqlrep::send_dummy
