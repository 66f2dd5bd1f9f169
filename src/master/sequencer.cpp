#include "master/sequencer.hpp"

#include <algorithm>
#include <filesystem>
#include <string_view>

#include <spdlog/spdlog.h>

#include "master/restore_entry.hpp"
#include "shared/wal_sync_hook.hpp"
#include "shared/write_transaction.hpp"

namespace sqlrep::master {
namespace {

// Bounds one group, so a flood of writers still sees commits at a steady pace.
constexpr std::size_t kMaxGroup = 1024;
// Trimming deletes in steps of at least this many entries (fewer, larger deletes), and
// at most kMaxTrim at once, so the writer never pauses long for it.
constexpr int64_t kTrimStep = 1000;
constexpr int64_t kMaxTrim = 50000;
// A remembered outcome keeps its per-statement results only up to this size (serialized),
// so kRememberedIds outcomes stay a few MiB at most; beyond it a duplicate answers
// without "results".
constexpr std::size_t kMaxRememberedResults = 1024;

// Whether `results` fit kMaxRememberedResults. Every forwarded write has an id, so this
// runs on the writer thread for most writes: a statement's result without rows (two
// integers) is counted, not serialized; only RETURNING rows are.
bool small_enough_to_remember(const json::array& results) {
    constexpr std::size_t kPlainResult = 64;  // {"rows_affected":..,"last_insert_id":..}
    if (results.size() * kPlainResult <= kMaxRememberedResults) {
        bool plain = std::all_of(results.begin(), results.end(), [](const json::value& r) {
            return r.is_object() && !r.get_object().contains("rows");
        });
        if (plain) return true;
    }
    return json::serialize(results).size() <= kMaxRememberedResults;
}

}  // namespace

Sequencer::Sequencer(std::unique_ptr<Connection> writer, int64_t term,
                     std::chrono::milliseconds request_timeout,
                     std::function<void(int64_t)> on_commit, PublishedIndex& published)
    : writer_(std::move(writer)),
      term_(term),
      request_timeout_(request_timeout),
      on_commit_(std::move(on_commit)),
      recorder_(std::make_unique<EffectRecorder>(*writer_)),
      published_(published) {
    writer_->set_statement_observer(recorder_.get());
    last_ = last_log_position(*writer_);
    first_index_ = first_log_index(*writer_);
    published_.watch(writer_->handle());
    published_.publish(last_.index);
    // The ids of the entries this node holds: their index, not their results.
    auto window = static_cast<int64_t>(kRememberedIds);
    for (auto& [index, id] : read_log_request_ids(*writer_, last_.index - window)) {
        WriteOutcome outcome;
        outcome.index = index;
        outcome.counts_known = false;
        outcome.results_known = false;
        remember(id, outcome);
    }
}

Sequencer::~Sequencer() { stop(); }

void Sequencer::start() {
    thread_ = std::thread([this] { run(); });
}

void Sequencer::stop(const std::string& reason) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) stop_reason_ = reason;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::vector<Pending> left;
    std::string why;
    {
        std::lock_guard lock(mutex_);
        left.swap(queue_);
        why = stop_reason_;
    }
    for (auto& p : left) {
        if (!p.restore_path.empty()) {
            std::error_code ignored;
            std::filesystem::remove(p.restore_path, ignored);
        }
        WriteOutcome outcome;
        outcome.error = Error(ErrorKind::unavailable, why);
        p.done(std::move(outcome));
    }
    // The writer goes with the role: the node's next role opens its own.
    recorder_.reset();
    writer_.reset();
}

void Sequencer::submit(std::vector<SqlStatement> statements, Done done, ExecutionRule rule,
                       std::string request_id) {
    enqueue(Pending{std::move(statements), std::move(done), rule, std::move(request_id)});
}

void Sequencer::submit_internal(std::vector<SqlStatement> statements, Done done) {
    Pending p{std::move(statements), std::move(done), ExecutionRule::write, ""};
    p.internal = true;
    enqueue(std::move(p));
}

void Sequencer::submit_restore(std::string path, std::string digest, Done done) {
    Pending p{{}, std::move(done), ExecutionRule::write, ""};
    p.restore_path = std::move(path);
    p.restore_digest = std::move(digest);
    enqueue(std::move(p));
}

void Sequencer::enqueue(Pending p) {
    std::string why;
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.push_back(std::move(p));
            wake_.notify_one();
            return;
        }
        why = stop_reason_;
    }
    if (!p.restore_path.empty()) {
        std::error_code ignored;
        std::filesystem::remove(p.restore_path, ignored);
    }
    WriteOutcome outcome;
    outcome.error = Error(ErrorKind::unavailable, why);
    p.done(std::move(outcome));
}

void Sequencer::run() {
    std::vector<Pending> group;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, nothing left
            // A group ends before the first restore; a restore runs alone.
            auto end = std::find_if(queue_.begin(), queue_.end(),
                                    [](const Pending& p) { return !p.restore_path.empty(); });
            if (end == queue_.begin()) ++end;
            if (end - queue_.begin() > static_cast<std::ptrdiff_t>(kMaxGroup))
                end = queue_.begin() + kMaxGroup;
            group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
            queue_.erase(queue_.begin(), end);
        }
        if (group.size() == 1 && !group[0].restore_path.empty())
            run_restore(group[0]);
        else
            run_group(group);
        group.clear();
        maybe_trim();
    }
}

// The write path. One transaction for the group; each request in its own savepoint so
// a failing request is undone alone; one entry per successful request, appended to the
// log inside the same transaction; one COMMIT (one fsync) for all.
void Sequencer::run_group(std::vector<Pending>& group) {
    std::vector<WriteOutcome> outcomes(group.size());
    std::vector<std::size_t> to_run;
    for (std::size_t i = 0; i < group.size(); ++i) {
        // A request id committed before: the first outcome, nothing runs.
        auto known =
            group[i].request_id.empty() ? remembered_.end() : remembered_.find(group[i].request_id);
        if (known == remembered_.end()) {
            to_run.push_back(i);
            continue;
        }
        outcomes[i] = known->second;
        outcomes[i].duplicate = true;
    }
    LogPosition before = last_;
    // duplicate_of[i] = j: request i has the id of request j, which ran before it in this
    // group and succeeded; i then takes j's outcome.
    std::vector<std::optional<std::size_t>> duplicate_of(group.size());

    // Usually one pass. A request SQLite aborts together with the whole transaction (an
    // interrupted write does that) takes the group's earlier successes with it: that
    // request fails alone and the others run again in a new transaction.
    std::vector<Entry> written;        // this pass's entries, in index order
    std::vector<std::size_t> writers;  // written[k] came from group[writers[k]]
    for (bool done = false; !done;) {
        try {
            WriteTransaction transaction(*writer_);
            std::optional<std::size_t> lost;
            std::unordered_map<std::string_view, std::size_t> ids;  // this pass's successes
            std::fill(duplicate_of.begin(), duplicate_of.end(), std::nullopt);
            for (std::size_t i : to_run) {
                if (const std::string& id = group[i].request_id; !id.empty()) {
                    if (auto first = ids.find(id); first != ids.end()) {
                        duplicate_of[i] = first->second;
                        continue;
                    }
                }
                writer_->exec_internal("SAVEPOINT request");
                if (std::optional<Entry> entry = run_one(group[i], outcomes[i])) {
                    writer_->exec_internal("RELEASE request");
                    last_ = {entry->index, entry->term, entry->hash};
                    written.push_back(std::move(*entry));
                    writers.push_back(i);
                    if (!group[i].request_id.empty()) ids.emplace(group[i].request_id, i);
                } else if (!writer_->in_transaction()) {
                    lost = i;
                    break;
                } else {
                    writer_->exec_internal("ROLLBACK TO request");
                    writer_->exec_internal("RELEASE request");
                }
            }
            if (lost) {
                last_ = before;
                written.clear();
                writers.clear();
                std::vector<std::size_t> again;
                for (std::size_t i : to_run)
                    if (i != *lost && !outcomes[i].error) again.push_back(i);
                for (std::size_t i : again) outcomes[i] = WriteOutcome{};
                to_run = std::move(again);
                continue;
            }
            commit_group(transaction, written);
            done = true;
        } catch (const Error& e) {
            // Nothing of the group is durable (the transaction rolled back): every request
            // fails, and the log position goes back to what the file holds.
            spdlog::error("write group failed, {} request(s) rolled back: {}", group.size(),
                          e.what());
            if (retract_ && !written.empty()) retract_(before.index);
            last_ = before;
            for (std::size_t i : to_run) {  // not the duplicates of earlier groups
                WriteOutcome& outcome = outcomes[i];
                if (outcome.error) continue;
                outcome.error =
                    Error(ErrorKind::unavailable,
                          std::string("the master could not commit the write: ") + e.what());
            }
            done = true;
        }
    }

    for (std::size_t i = 0; i < group.size(); ++i) {
        if (!duplicate_of[i]) continue;
        outcomes[i] = outcomes[*duplicate_of[i]];
        if (!outcomes[i].error) outcomes[i].duplicate = true;
    }
    for (std::size_t i : writers)
        if (!outcomes[i].error && !group[i].request_id.empty())
            remember(group[i].request_id, outcomes[i]);

    published_.publish(last_.index);
    if (last_.index != before.index) on_commit_(last_.index);
    for (std::size_t i = 0; i < group.size(); ++i) group[i].done(std::move(outcomes[i]));
}

// Replaces the database as one entry: the prepared file holds the restored data, this
// node's meta and a log of that one entry on top of our last position; the backup API
// copies it over the writer's database in one transaction. Readers see the old database
// or the new one (WAL), and replicas fetch a snapshot when they meet the entry.
void Sequencer::run_restore(Pending& restore) {
    WriteOutcome outcome;
    Entry entry = make_restore_entry(last_, term_, restore.restore_digest);
    try {
        prepare_restored_database(restore.restore_path, *writer_, last_, entry);
        published_.hide();  // the backup API's copy does not pass the commit hook
        install_restored_database(*writer_, restore.restore_path);
        recorder_->schema_replaced();
        last_ = {entry.index, entry.term, entry.hash};
        first_index_ = entry.index;
        outcome.index = entry.index;
        spdlog::warn("the database was REPLACED by a restore at index {} ({})", entry.index,
                     restore.restore_digest);
    } catch (const Error& e) {
        spdlog::error("restore failed, the database is as it was: {}", e.what());
        outcome.error = e;
    } catch (const std::exception& e) {  // SQLiteCpp's, opening a file that is no database
        spdlog::error("restore failed, the database is as it was: {}", e.what());
        outcome.error = Error(ErrorKind::internal, std::string("restore failed: ") + e.what());
    }
    std::error_code ignored;
    std::filesystem::remove(restore.restore_path, ignored);
    std::filesystem::remove(restore.restore_path + "-journal", ignored);
    published_.publish(last_.index);
    if (!outcome.error) {
        if (publish_) publish_({entry});
        on_commit_(last_.index);
    }
    restore.done(std::move(outcome));
}

// Keeps `outcome` as the answer to a later request with `request_id`, forgetting the
// oldest id past kRememberedIds.
void Sequencer::remember(const std::string& request_id, const WriteOutcome& outcome) {
    auto [it, added] = remembered_.try_emplace(request_id, outcome);
    if (!added) return;
    WriteOutcome& kept = it->second;
    kept.error.reset();
    kept.duplicate = false;
    if (kept.results_known && !small_enough_to_remember(kept.result.results)) {
        kept.result.results.clear();
        kept.results_known = false;
    }
    remembered_order_.push_back(request_id);
    if (remembered_order_.size() > kRememberedIds) {
        remembered_.erase(remembered_order_.front());
        remembered_order_.pop_front();
    }
}

// COMMIT, publishing the group to the stream the moment SQLite has written it to the WAL
// and is about to fsync it: replicas receive and apply it while this fsync runs. The
// entries are in the OS's page cache by then, so a crash of the master process cannot
// lose them; only a crash of the whole machine before the fsync could, and
// docs/ARCHITECTURE.md explains how a replica ahead of its master is then caught.
void Sequencer::commit_group(WriteTransaction& transaction, std::vector<Entry>& written) {
    if (!publish_ || written.empty()) return transaction.commit();
    bool published = false;
    {
        WalSyncHook hook([&] {
            publish_(written);
            published = true;
        });
        transaction.commit();
    }
    if (!published) publish_(written);  // no fsync at this commit (--sync normal)
}

// Log trimming runs on the writer thread between groups, in its own small transaction.
void Sequencer::maybe_trim() {
    if (!trim_floor_) return;
    int64_t floor = std::min(trim_floor_(), last_.index);
    if (floor < first_index_ + kTrimStep) return;
    int64_t upto = std::min(floor, first_index_.load() + kMaxTrim);
    try {
        WriteTransaction transaction(*writer_);
        trim_log(*writer_, upto);
        transaction.commit();
        first_index_ = upto + 1;
        spdlog::debug("log trimmed up to index {}", upto);
    } catch (const Error& e) {
        spdlog::error("log trim failed (nothing was trimmed): {}", e.what());
    }
    published_.publish(last_.index);  // trimming leaves the last index as it was
}

// Runs one request inside its savepoint. On success returns the entry it became (its
// effects, already appended to the log); on a client error records it in `outcome` and
// returns nothing.
std::optional<Entry> Sequencer::run_one(Pending& request, WriteOutcome& outcome) {
    Entry entry;
    entry.index = last_.index + 1;
    entry.term = term_;
    entry.time_ms = unix_time_ms();
    entry.request_id = request.request_id;
    try {
        recorder_->begin_entry();
        writer_->set_deadline(std::chrono::steady_clock::now() + request_timeout_);
        if (request.internal)
            writer_->internal(
                [&] { execute(*writer_, request.statements, request.rule, {}, outcome.result); });
        else
            execute(*writer_, request.statements, request.rule, {}, outcome.result);
        writer_->set_deadline(std::chrono::steady_clock::time_point::max());
        entry.body = recorder_->finish_entry();
    } catch (const Error& e) {
        writer_->set_deadline(std::chrono::steady_clock::time_point::max());
        Error reason = recorder_->failure().value_or(e);  // what the recorder stopped on
        recorder_->abandon();
        if (reason.kind() == ErrorKind::internal) throw reason;  // not the client's fault
        outcome.error = reason;
        return std::nullopt;
    }
    entry.hash = chain_hash(last_.hash, entry);
    append_log_entry(*writer_, entry);
    outcome.index = entry.index;
    return entry;
}

}  // namespace sqlrep::master
