#include "progress_bar.hpp"

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

namespace sqlrep::send_dummy {

namespace {

constexpr int kBarWidth = 30;

std::string format_duration(double seconds) {
    auto s = static_cast<int64_t>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
    if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}s", s);
}

}  // namespace

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(int64_t total) : total_(total), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t done, int64_t errors) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1;
    int filled = static_cast<int>(fraction * kBarWidth);
    double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    std::string eta = rate > 0 ? format_duration(static_cast<double>(total_ - done) / rate) : "?";

    std::string line =
        fmt::format("\r[{}{}] {:3.0f}% {}/{}  {:.0f} req/s  ETA {}", std::string(filled, '#'),
                    std::string(kBarWidth - filled, '.'), fraction * 100, done, total_, rate, eta);
    if (errors > 0) line += fmt::format("  errors {}", errors);
    line += "\x1b[K";  // clear what a longer previous line left behind
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

void ProgressBar::finish() {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
}

}  // namespace sqlrep::send_dummy
