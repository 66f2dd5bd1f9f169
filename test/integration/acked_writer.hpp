#pragma once
// A client thread that inserts numbered rows (writer, seq, val) through one node until told
// to stop, and remembers exactly which inserts were acknowledged and how every other one
// was answered: the record the recovery and chaos tests hold every node to ("no
// acknowledged write is ever lost").
//
// Thread contract: start/finish and the accessors from the test's thread; acked_count()
// from any thread while it runs, everything else after finish().

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace sqlrep::test {

struct AckedRow {
    int64_t seq = 0;
    std::string value;
};

class AckedWriter {
  public:
    // Inserts into `table`, which has columns writer TEXT, seq INTEGER, val TEXT. The ack
    // modes in `acks` are used in turn, one per insert.
    AckedWriter(std::string name, std::string url, std::string table,
                std::vector<std::string> acks = {"quorum"},
                std::chrono::milliseconds timeout = std::chrono::seconds(20));
    ~AckedWriter();  // finish()
    AckedWriter(const AckedWriter&) = delete;
    AckedWriter& operator=(const AckedWriter&) = delete;

    void start();
    void finish();

    const std::string& name() const { return name_; }
    int64_t acked_count() const { return acked_count_.load(); }

    // After finish():
    int64_t attempted() const { return attempted_; }
    const std::vector<AckedRow>& acked() const { return acked_; }
    // How each insert was answered: "200", "503", "504", "http <status>" or "transport".
    const std::map<std::string, int64_t>& outcomes() const { return outcomes_; }
    // Inserts not acknowledged, and what the first of them got.
    int64_t failure_count() const { return attempted_ - static_cast<int64_t>(acked_.size()); }
    const std::string& first_failure() const { return first_failure_; }
    // Answers a down or paused node never gives (anything but 200, 503, 504 or a transport
    // error), with the first few described.
    int64_t unexpected_count() const { return unexpected_count_; }
    const std::vector<std::string>& unexpected() const { return unexpected_; }

  private:
    void run();
    void failed(const std::string& what, bool unexpected);

    const std::string name_;
    const std::string url_;
    const std::string insert_;
    const std::vector<std::string> acks_;
    const std::chrono::milliseconds timeout_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int64_t> acked_count_{0};
    // writer thread until finish()
    int64_t attempted_ = 0;
    std::vector<AckedRow> acked_;
    std::map<std::string, int64_t> outcomes_;
    std::string first_failure_;
    int64_t unexpected_count_ = 0;
    std::vector<std::string> unexpected_;
};

}  // namespace sqlrep::test
