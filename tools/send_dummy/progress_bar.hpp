#pragma once
// A one-line progress bar with rate and ETA, redrawn in place on stderr. Only meant for a
// terminal; the caller decides whether to show it. Call update() from one thread only.

#include <chrono>
#include <cstdint>

namespace sqlrep::send_dummy {

class ProgressBar {
  public:
    explicit ProgressBar(int64_t total);

    // Redraws the line with `done` of the total finished, `errors` of them failed.
    void update(int64_t done, int64_t errors);
    // Erases the line so the summary starts on a clean one.
    void finish();

  private:
    int64_t total_;
    std::chrono::steady_clock::time_point start_;
};

// Whether stderr is a terminal (where a redrawn line makes sense).
bool stderr_is_terminal();

}  // namespace sqlrep::send_dummy
