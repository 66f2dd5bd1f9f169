#include "master/sink_runner.hpp"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "shared/error.hpp"
#include "shared/replication_log.hpp"

namespace sqlrep::master {
namespace {

// How long the runner sleeps when it has nothing to deliver, unless woken by a commit.
constexpr std::chrono::milliseconds kIdlePoll{50};
// How long to wait before trying again after the runner itself failed (the log could not
// be read): not the sink's fault, so not counted as a delivery failure.
constexpr std::chrono::milliseconds kReadRetry{1000};

// The sink's stored position, or nothing for a sink that never wrote one.
std::optional<int64_t> stored_position(Connection& conn, const std::string& sink) {
    return conn.internal([&]() -> std::optional<int64_t> {
        auto stmt = conn.cached("SELECT position FROM _sqlrep_cdc WHERE sink = ?");
        sqlite3_bind_text(stmt.get(), 1, sink.data(), static_cast<int>(sink.size()),
                          SQLITE_TRANSIENT);
        if (sqlite3_step(stmt.get()) == SQLITE_ROW) return sqlite3_column_int64(stmt.get(), 0);
        return std::nullopt;
    });
}

}  // namespace

std::vector<SinkChange> sink_changes(ChangeEvents& events, Connection& conn, const Entry& entry) {
    std::vector<SinkChange> out;
    for (json::object& event : events.of_entry(conn, entry)) {
        SinkChange change;
        change.index = entry.index;
        if (const json::value* position = event.if_contains("position"))
            change.ordinal = static_cast<int>(position->to_number<int64_t>());
        if (const json::value* table = event.if_contains("table"); table && table->is_string())
            change.table = std::string(table->get_string());
        change.event = std::move(event);
        out.push_back(std::move(change));
    }
    return out;
}

SinkRunner::SinkRunner(std::unique_ptr<ChangeSink> sink, std::string database_path,
                       Sequencer& sequencer, std::function<int64_t()> deliverable,
                       std::function<bool()> may_write)
    : sink_(std::move(sink)),
      database_path_(std::move(database_path)),
      sequencer_(sequencer),
      deliverable_(std::move(deliverable)),
      may_write_(std::move(may_write)) {}

SinkRunner::~SinkRunner() { stop(); }

void SinkRunner::start() {
    thread_ = std::thread([this] { run(); });
}

void SinkRunner::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void SinkRunner::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_.notify_all();
}

bool SinkRunner::sleep_for(std::chrono::milliseconds wait, bool until_woken) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [&] { return stopping_ || (until_woken && woken_); });
    woken_ = false;
    return !stopping_;
}

void SinkRunner::set_error(std::string error) {
    std::lock_guard lock(mutex_);
    last_error_ = std::move(error);
}

json::object SinkRunner::status(int64_t last_index) const {
    int64_t position = position_.load();
    std::string error;
    {
        std::lock_guard lock(mutex_);
        error = last_error_;
    }
    return json::object{{"sink", sink_->name()},
                        {"position", position},
                        {"persisted_position", persisted()},
                        {"lag", std::max<int64_t>(0, last_index - position)},
                        {"delivered", delivered_.load()},
                        {"failures", failures_.load()},
                        {"gaps", gaps_.load()},
                        {"state", failing_ ? "retrying" : "delivering"},
                        {"last_error", error}};
}

// The thread's top: nothing escapes it. A failure to read the log is retried.
void SinkRunner::run() {
    while (true) {
        try {
            deliver_loop();
            return;
        } catch (const std::exception& e) {
            spdlog::error("change sink {}: {}; trying again", sink_->name(), e.what());
            set_error(e.what());
        }
        if (!sleep_for(kReadRetry, false)) return;
    }
}

void SinkRunner::deliver_loop() {
    Connection conn(database_path_, Connection::Mode::reader);
    ChangeEvents events;
    int64_t position = 0;
    if (std::optional<int64_t> stored = stored_position(conn, sink_->name())) {
        position = *stored;
        spdlog::info("change sink {} starts after index {}", sink_->name(), position);
    } else {
        // A new sink starts with the oldest entry the log holds: what came before is in
        // the data, not in the log, and is no gap of this sink's.
        position = first_log_index(conn) - 1;
        spdlog::info("change sink {} is new: it starts with the oldest entry in the log, {}",
                     sink_->name(), position + 1);
    }
    shared_->persisted = std::max(shared_->persisted.load(), position);
    position_ = position;
    while (true) {
        persist_if_due(false);
        int64_t target = deliverable_();
        if (target <= position) {
            if (!sleep_for(kIdlePoll, true)) return;
            continue;
        }
        std::vector<Entry> entries =
            read_log_entries(conn, position + 1, kBatchEntries, kBatchBytes);
        int64_t first = entries.empty() ? first_log_index(conn) : entries.front().index;
        if (first > position + 1) {
            // Trimmed past the position: those changes are gone. Say so, loudly, and go on
            // with what the log still holds.
            ++gaps_;
            std::string error = "the log no longer holds entries " + std::to_string(position + 1) +
                                ".." + std::to_string(first - 1) +
                                ": their changes were never delivered to this sink";
            spdlog::error("change sink {}: {}", sink_->name(), error);
            set_error(error);
            position = first - 1;
            position_ = position;
            worth_persisting_ = position;
            continue;
        }
        std::vector<SinkChange> changes;
        int64_t last = position;
        for (const Entry& entry : entries) {
            if (entry.index > target) break;
            for (SinkChange& change : sink_changes(events, conn, entry))
                changes.push_back(std::move(change));
            last = entry.index;
        }
        if (last == position) {
            if (!sleep_for(kIdlePoll, true)) return;
            continue;
        }
        // At most kBatchChanges per delivery (one large entry may make many); the
        // position moves once all of them are acknowledged.
        for (std::size_t from = 0; from < changes.size(); from += kBatchChanges) {
            std::size_t to = std::min(changes.size(), from + kBatchChanges);
            std::vector<SinkChange> batch(std::make_move_iterator(changes.begin() + from),
                                          std::make_move_iterator(changes.begin() + to));
            if (!deliver_with_retry(batch)) return;
            delivered_ += batch.size();
        }
        if (!changes.empty()) worth_persisting_ = last;
        position = last;
        position_ = position;
    }
}

bool SinkRunner::deliver_with_retry(const std::vector<SinkChange>& changes) {
    auto backoff = kFirstBackoff;
    while (true) {
        try {
            sink_->deliver(changes);
            if (failing_.exchange(false)) {
                spdlog::info("change sink {} delivers again", sink_->name());
                set_error("");
            }
            return true;
        } catch (const std::exception& e) {
            ++failures_;
            if (!failing_.exchange(true))
                spdlog::warn("change sink {}: delivery failed, retrying with backoff: {}",
                             sink_->name(), e.what());
            set_error(e.what());
        }
        // The position may still be written while the sink is down.
        persist_if_due(false);
        if (!sleep_for(backoff, false)) return false;
        backoff = std::min(backoff * 2, kMaxBackoff);
    }
}

// Writes the acknowledged position when the sink delivered something since the last write
// and kPersistEvery has passed. One write at a time; a failed one is tried again later.
// Entries that gave no change (the position writes themselves) never make one due.
void SinkRunner::persist_if_due(bool force) {
    int64_t position = position_.load();
    if (worth_persisting_ <= shared_->persisted.load() || shared_->persisting.load()) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_persist_ < kPersistEvery) return;
    if (!may_write_()) return;
    last_persist_ = now;
    shared_->persisting = true;
    std::vector<SqlStatement> write{
        {"INSERT INTO _sqlrep_cdc (sink, position) VALUES (?1, ?2) ON CONFLICT (sink) DO "
         "UPDATE SET position = excluded.position WHERE excluded.position > position",
         json::array{json::string(sink_->name()), position}}};
    auto shared = shared_;
    std::string name = sink_->name();
    sequencer_.submit_internal(std::move(write), [shared, position, name](WriteOutcome outcome) {
        // On the writer thread: only record it.
        if (!outcome.error) {
            int64_t was = shared->persisted.load();
            while (was < position && !shared->persisted.compare_exchange_weak(was, position)) {
            }
        } else {
            spdlog::warn("change sink {}: could not write its position {}: {}", name, position,
                         outcome.error->what());
        }
        shared->persisting = false;
    });
}

}  // namespace sqlrep::master
