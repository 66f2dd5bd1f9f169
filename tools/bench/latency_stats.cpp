#include "latency_stats.hpp"

#include <algorithm>
#include <cmath>

namespace sqlrep::bench {

void LatencyStats::merge(const LatencyStats& other) {
    samples_ms_.insert(samples_ms_.end(), other.samples_ms_.begin(), other.samples_ms_.end());
    sorted_ = false;
}

double LatencyStats::percentile(double fraction) {
    if (samples_ms_.empty()) return 0;
    if (!sorted_) {
        std::sort(samples_ms_.begin(), samples_ms_.end());
        sorted_ = true;
    }
    auto rank =
        static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(samples_ms_.size())));
    return samples_ms_[std::clamp<std::size_t>(rank, 1, samples_ms_.size()) - 1];
}

Percentiles Percentiles::of(LatencyStats& stats) {
    return {stats.percentile(0.50), stats.percentile(0.95), stats.percentile(0.99),
            stats.percentile(1.0)};
}

}  // namespace sqlrep::bench
