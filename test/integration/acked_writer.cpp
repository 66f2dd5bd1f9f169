#include "acked_writer.hpp"

#include <memory>

#include "cluster.hpp"

namespace sqlrep::test {

namespace {
constexpr std::size_t kMaxUnexpectedSamples = 10;
}  // namespace

AckedWriter::AckedWriter(std::string name, std::string url, std::string table,
                         std::vector<std::string> acks, std::chrono::milliseconds timeout)
    : name_(std::move(name)),
      url_(std::move(url)),
      insert_("INSERT INTO " + table + "(writer, seq, val) VALUES (?, ?, ?)"),
      acks_(std::move(acks)),
      timeout_(timeout) {}

AckedWriter::~AckedWriter() { finish(); }

void AckedWriter::start() {
    thread_ = std::thread([this] { run(); });
}

void AckedWriter::finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void AckedWriter::failed(const std::string& what, bool unexpected) {
    if (first_failure_.empty()) first_failure_ = what;
    if (!unexpected) return;
    ++unexpected_count_;
    if (unexpected_.size() < kMaxUnexpectedSamples) unexpected_.push_back(what);
}

void AckedWriter::run() {
    std::unique_ptr<NodeClient> client;
    for (int64_t seq = 1; !stop_; ++seq) {
        const std::string& ack = acks_[static_cast<std::size_t>(seq) % acks_.size()];
        const std::string label = name_ + " seq " + std::to_string(seq) + " ack=" + ack + ": ";
        std::string value = random_hex(16);
        ++attempted_;
        try {
            if (!client) client = std::make_unique<NodeClient>(url_);
            Response r = client->exec(insert_, json::array{name_, seq, value},
                                      json::object{{"ack", ack}}, timeout_);
            if (r.ok()) {
                acked_.push_back({seq, std::move(value)});
                ++acked_count_;
                ++outcomes_["200"];
                continue;
            }
            bool down_or_paused = r.status == 503 || r.status == 504;
            ++outcomes_[down_or_paused ? std::to_string(r.status)
                                       : "http " + std::to_string(r.status)];
            failed(label + r.describe(), !down_or_paused);
        } catch (const std::exception& e) {
            ++outcomes_["transport"];
            failed(label + e.what(), false);
            client.reset();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // down or paused: no spin
    }
}

}  // namespace sqlrep::test
