#include "master/master_role.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include "master/restore_entry.hpp"
#include "master/sink_factory.hpp"
#include "shared/stream_messages.hpp"

namespace sqlrep::master {
namespace {

// The stream ring: the last 8192 entries or 16 MiB of them, whichever is less. Replicas
// further behind read the log.
constexpr std::size_t kRingEntries = 8192;
constexpr std::size_t kRingBytes = 16 * 1024 * 1024;

std::unique_ptr<Connection> open_writer(const NodeConfig& config) {
    auto writer =
        std::make_unique<Connection>(config.database_path(), Connection::Mode::writer, config.sync);
    writer->checkpoint_in_background();
    // Only the master enforces them: their actions reach replicas as effects.
    if (config.foreign_keys) writer->exec_internal("PRAGMA foreign_keys = ON");
    ensure_log_schema(*writer);
    return writer;
}

// The answer to a committed (and acknowledged) write. A duplicate answers with what the
// sequencer still knows of the first outcome.
json::object success_body(WriteOutcome& outcome) {
    json::object body{{"ok", true}, {"index", outcome.index}};
    if (outcome.counts_known) {
        body["rows_affected"] = outcome.result.rows_affected;
        body["last_insert_id"] = outcome.result.last_insert_id;
    }
    if (outcome.results_known) body["results"] = std::move(outcome.result.results);
    if (outcome.duplicate) body["duplicate"] = true;
    return body;
}

// The answer to a write that failed and changed nothing; after the error, the results of
// the statements that ran before it, rolled back with it (rqlite's API shows them).
HttpResponse failure_response(const WriteOutcome& outcome) {
    if (outcome.result.results.empty())
        return exec_error_response(*outcome.error, ExecOutcome::not_applied);
    return json_response(http_status_for(outcome.error->kind()),
                         json::object{{"ok", false},
                                      {"error", outcome.error->what()},
                                      {"outcome", exec_outcome_name(ExecOutcome::not_applied)},
                                      {"rolled_back", outcome.result.results}});
}

}  // namespace

MasterRole::MasterRole(const NodeServices& node, int64_t term)
    : node_(node),
      term_(term),
      ring_(kRingEntries, kRingBytes),
      registry_(node.ioc, node.config.num_replicas, node.cluster.self_id()),
      streams_{registry_,
               ring_,
               node.reads,
               node.applied,
               node.config.database_path(),
               snapshot_thread_,
               term,
               node.cluster.self_id(),
               retracted_from_,
               nullptr} {
    streams_.refused = [this](StreamRefusal kind, const StreamHello& hello,
                              const std::string& problem) { on_refused(kind, hello, problem); };
    std::unique_ptr<Connection> writer = open_writer(node.config);
    node.applied.reset(last_log_position(*writer).index);
    sequencer_ = std::make_unique<Sequencer>(
        std::move(writer), term, std::chrono::milliseconds(node.config.query_timeout_ms),
        [this](int64_t index) {
            node_.applied.advance(index);
            registry_.notify_commit();
            for (auto& sink : sinks_) sink->wake();
        },
        node.published);
    sequencer_->set_publisher(
        [this](const std::vector<Entry>& entries) {
            ring_.publish(entries);
            registry_.notify_entries();
        },
        [this](int64_t index) {
            // Streamed but never committed: replicas that took them must be checked
            // again, and will find themselves ahead of the master and resync. Their
            // acks of those indexes go too: later entries re-use the indexes.
            if (retracted_from_ > index + 1) retracted_from_ = index + 1;
            if (ring_.retract(index)) registry_.retract(index);
        });
    if (!node.config.archive_dir.empty())
        archiver_ = std::make_unique<Archiver>(node.config, term, node.applied);
    // Entries leave the log only once every replica has them, with an archive once they
    // are archived, and once the sinks delivered them (up to SinkRunner::kMaxHold behind).
    sequencer_->set_trim_floor([this] {
        int64_t committed = node_.applied.value();
        int64_t floor = registry_.trim_floor(committed, node_.config.log_retain);
        if (archiver_) floor = std::min(floor, archiver_->trim_floor());
        for (auto& sink : sinks_)
            floor = std::min(floor, std::max(sink->persisted(), committed - SinkRunner::kMaxHold));
        return floor;
    });
    start_sinks();
    sequencer_->start();
    if (archiver_) archiver_->start();
}

void MasterRole::start_sinks() {
    for (auto& sink : make_sinks(node_.config)) {
        sinks_.push_back(std::make_unique<SinkRunner>(
            std::move(sink), node_.config.database_path(), *sequencer_,
            [this] { return deliverable_index(); },
            [this] { return write_refusal().empty() && node_.fence_reason().empty(); }));
    }
    for (auto& runner : sinks_) runner->start();
}

int64_t MasterRole::deliverable_index() const {
    int64_t committed = node_.applied.value();
    AckMode mode = node_.config.default_ack;
    if (registry_.replicas_needed(mode) == 0) return committed;
    return std::min(committed, registry_.acked_index(mode));
}

MasterRole::~MasterRole() { stop(); }

void MasterRole::stop() {
    if (stopped_.exchange(true)) return;
    refuse_writes("this node is no longer the master");
    for (auto& sink : sinks_) sink->stop();
    sequencer_->stop(
        "this node stopped being the master before the write ran: it was not "
        "applied; send it again");
    registry_.close_all();
    if (archiver_) archiver_->stop();
}

int64_t MasterRole::stop_writes(const std::string& reason) {
    refuse_writes(reason);
    sequencer_->stop(reason + "; the write was not applied: send it again");
    return node_.applied.value();
}

std::string MasterRole::write_refusal() const {
    std::lock_guard lock(mutex_);
    return write_refusal_;
}

void MasterRole::refuse_writes(std::string reason) {
    std::lock_guard lock(mutex_);
    if (write_refusal_.empty()) write_refusal_ = std::move(reason);
}

// A replica holds what this master lacks, or knows a later term: either way this node
// must not go on ordering writes.
void MasterRole::on_refused(StreamRefusal kind, const StreamHello& hello,
                            const std::string& problem) {
    if (kind == StreamRefusal::stale_term) {
        refuse_writes("this node's term " + std::to_string(term_) + " is over: " + problem);
        return node_.newer_term(hello.term, -1, "");
    }
    if (kind == StreamRefusal::master_behind) {
        std::string where = hello.url.empty()
                                ? "node " + std::to_string(hello.node_id)
                                : "node " + std::to_string(hello.node_id) + " at " + hello.url;
        spdlog::critical("this master is BEHIND {}: {}; it takes no writes", where, problem);
        refuse_writes("this master is behind a replica (" + problem +
                      "), so it takes no writes: promote " + where +
                      " (POST /_cluster/promote there)");
    }
}

// Every error answer of an exec says what became of the write (ExecOutcome): refused
// before it ran, or failed and rolled back, it was not applied; committed but not
// acknowledged in time, it is committed at its index; committed on a master that may
// have lost the role, unknown.
void MasterRole::serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) {
    constexpr ExecOutcome not_applied = ExecOutcome::not_applied;
    if (std::string why = write_refusal(); !why.empty())
        return respond(exec_error_response(ErrorKind::unavailable, why, not_applied));
    // A fenced master could not acknowledge the write: it does not take it at all.
    if (std::string fenced = node_.fence_reason(); !fenced.empty())
        return respond(exec_error_response(
            ErrorKind::unavailable,
            "this master " + fenced + ": the write was not applied; send it again", not_applied));
    // A node that forwards from a later term knows a newer master than this one.
    if (auto it = raw.find(kTermHeader); it != raw.end()) {
        int64_t theirs = 0;
        std::string_view text = it->value();
        std::from_chars(text.data(), text.data() + text.size(), theirs);
        if (theirs > term_) {
            refuse_writes("a node forwarded a write from term " + std::to_string(theirs));
            node_.newer_term(theirs, -1, "");
            return respond(exec_error_response(
                ErrorKind::unavailable,
                "this node is no longer the master (term " + std::to_string(theirs) +
                    " has begun): the write was not applied; send it again",
                not_applied));
        }
        // And one that forwards from an earlier term has not yet followed this master:
        // it learns the term on its stream and sends the write again.
        if (theirs < term_)
            return respond(exec_error_response(ErrorKind::unavailable,
                                               "the forwarding node is still in term " +
                                                   std::to_string(theirs) + ", this master's is " +
                                                   std::to_string(term_) +
                                                   ": the write was not applied; send it again",
                                               not_applied));
    }
    AckMode mode = req.ack.value_or(node_.config.default_ack);
    auto timeout = std::chrono::milliseconds(node_.config.ack_timeout_ms);
    ExecutionRule rule = req.may_change_schema ? ExecutionRule::write : ExecutionRule::data_write;
    sequencer_->submit(
        std::move(req.statements),
        [this, mode, timeout, respond](WriteOutcome outcome) {
            // On the writer thread: only hand the result on. A failed write rolled back.
            if (outcome.error) return respond(failure_response(outcome));
            int64_t index = outcome.index;
            auto done = std::make_shared<WriteOutcome>(std::move(outcome));
            registry_.wait_for_ack(
                mode, index, timeout, [this, mode, index, done, respond](bool acked) {
                    if (!acked) {
                        int needed = registry_.replicas_needed(mode);
                        return respond(exec_error_response(
                            ErrorKind::timeout,
                            "the write is committed on the master at index " +
                                std::to_string(index) + " but not yet acknowledged by " +
                                std::to_string(needed) + " of " +
                                std::to_string(registry_.num_replicas()) +
                                " replica(s) (ack=" + ack_mode_name(mode) + ") within " +
                                std::to_string(node_.config.ack_timeout_ms) + " ms",
                            ExecOutcome::committed, index));
                    }
                    // Fenced: another node may be master by now, and may not have this entry.
                    if (std::string fenced = node_.fence_reason(); !fenced.empty())
                        return respond(exec_error_response(
                            ErrorKind::unavailable,
                            "the write is committed at index " + std::to_string(index) +
                                " on a master that may no longer be master (" + fenced +
                                "): whether it survives is unknown",
                            ExecOutcome::unknown, index));
                    respond(json_response(200, success_body(*done)));
                });
        },
        rule, std::move(req.request_id));
}

// The upload is checked on a client-lane thread of the read pool (seconds for a large
// one), then queued on the sequencer like a write, then acknowledged like one.
void MasterRole::serve_restore(std::string upload_path, std::optional<UploadFormat> format,
                               AckMode ack, Respond respond) {
    auto refuse = [&](ErrorKind kind, const std::string& why) {
        std::error_code ignored;
        std::filesystem::remove(upload_path, ignored);
        respond(error_response(kind, why));
    };
    if (std::string why = write_refusal(); !why.empty()) return refuse(ErrorKind::unavailable, why);
    if (std::string fenced = node_.fence_reason(); !fenced.empty())
        return refuse(ErrorKind::unavailable, "this master " + fenced);
    node_.reads.post_client([this, upload_path, format, ack, respond](Connection& conn) {
        std::string checked_path = upload_path + ".db";
        try {
            int page_size = conn.internal([&] {
                auto stmt = conn.cached("PRAGMA page_size");
                return sqlite3_step(stmt.get()) == SQLITE_ROW ? sqlite3_column_int(stmt.get(), 0)
                                                              : 4096;
            });
            CheckedDatabase checked = check_database_upload(
                upload_path, format, checked_path, page_size, node_.config.max_restore_bytes);
            std::error_code ignored;
            std::filesystem::remove(upload_path, ignored);
            json::object summary{{"tables", checked.tables},
                                 {"bytes", checked.bytes},
                                 {"format", checked.format == UploadFormat::sql ? "sql" : "sqlite"},
                                 {"checksum", checked.checksum}};
            restore(std::move(checked), [this, ack, respond, summary](WriteOutcome outcome) {
                if (outcome.error) return respond(error_response(*outcome.error));
                int64_t index = outcome.index;
                auto timeout = std::chrono::milliseconds(node_.config.ack_timeout_ms);
                registry_.wait_for_ack(ack, index, timeout, [=, this](bool acked) {
                    json::object body = summary;
                    body["ok"] = acked;
                    body["index"] = index;
                    if (acked) return respond(json_response(200, body));
                    body["error"] = "the restore is committed on the master at index " +
                                    std::to_string(index) +
                                    " but not yet acknowledged (ack=" + ack_mode_name(ack) +
                                    ") within " + std::to_string(node_.config.ack_timeout_ms) +
                                    " ms; replicas install it from a snapshot";
                    respond(json_response(http_status_for(ErrorKind::timeout), body));
                });
            });
        } catch (const Error& e) {
            std::error_code ignored;
            std::filesystem::remove(upload_path, ignored);
            respond(error_response(e));
        } catch (const std::exception& e) {
            std::error_code ignored;
            std::filesystem::remove(upload_path, ignored);
            std::filesystem::remove(checked_path, ignored);
            respond(
                error_response(ErrorKind::internal, std::string("restore failed: ") + e.what()));
        }
    });
}

void MasterRole::restore(CheckedDatabase checked, std::function<void(WriteOutcome)> done) {
    std::string digest = restore_digest(checked);
    sequencer_->submit_restore(std::move(checked.path), std::move(digest), std::move(done));
}

void MasterRole::serve_strong_read(ClientRequest req, const HttpRequest&, Respond respond) {
    // The master has applied everything it ever acknowledged: a local read is strong, as
    // long as it is still the master.
    if (std::string fenced = node_.fence_reason(); !fenced.empty())
        return respond(
            error_response(ErrorKind::unavailable, "no strong reads here: this master " + fenced));
    if (std::string why = write_refusal(); !why.empty())
        return respond(error_response(ErrorKind::unavailable, "no strong reads here: " + why));
    node_.local_read(std::move(req), std::move(respond));
}

json::object MasterRole::status() {
    int64_t index = node_.applied.value();
    std::string refusal = write_refusal();
    std::string fenced = node_.fence_reason();
    std::string state = !refusal.empty()  ? "not taking writes"
                        : !fenced.empty() ? "fenced"
                                          : "serving";
    return json::object{{"ok", true},
                        {"node_id", node_.cluster.self_id()},
                        {"role", "master"},
                        {"term", term_},
                        {"applied_index", index},
                        {"log_first_index", sequencer_->log_first_index()},
                        {"master", node_.cluster.self_url()},
                        {"state", state},
                        {"last_error", refusal.empty() ? fenced : refusal},
                        {"num_replicas", registry_.num_replicas()},
                        {"default_ack", ack_mode_name(node_.config.default_ack)},
                        {"replicas", registry_.status(index)},
                        {"archive", archiver_ ? json::value(archiver_->status()) : nullptr},
                        {"sinks", sinks_status(index)}};
}

json::array MasterRole::sinks_status(int64_t index) const {
    json::array out;
    for (const auto& sink : sinks_) out.push_back(sink->status(index));
    return out;
}

// Ready while writes with the default ack can be acknowledged: enough replicas are
// connected for it.
std::string MasterRole::not_ready_reason() {
    if (std::string why = write_refusal(); !why.empty()) return why;
    if (std::string fenced = node_.fence_reason(); !fenced.empty()) return fenced;
    AckMode ack = node_.config.default_ack;
    int needed = registry_.replicas_needed(ack);
    int connected = registry_.connected();
    if (connected >= needed) return "";
    return std::to_string(connected) + " of " + std::to_string(registry_.num_replicas()) +
           " replica(s) connected; writes with --ack " + ack_mode_name(ack) + " need " +
           std::to_string(needed);
}

std::optional<HttpResponse> MasterRole::check_upgrade(const HttpRequest& req, PeerInfo) {
    std::string_view target = req.target();
    if (target.substr(0, target.find('?')) != kStreamPath)
        return error_response(ErrorKind::not_found, "no WebSocket endpoint here");
    StreamHello hello;
    try {
        hello = decode_stream_hello(target);
    } catch (const Error& e) {
        return error_response(e);
    }
    if (hello.proto != kStreamProtocol) {
        std::string problem = stream_protocol_mismatch("node " + std::to_string(hello.node_id),
                                                       std::to_string(hello.proto), "this master");
        spdlog::warn("refused a replication stream: {}", problem);
        return error_response(ErrorKind::conflict, problem);
    }
    if (!registry_.is_replica(hello.node_id))
        return error_response(ErrorKind::bad_request,
                              "node_id must be one of this cluster's other nodes (0.." +
                                  std::to_string(node_.config.num_replicas) + ", not " +
                                  std::to_string(node_.cluster.self_id()) + ")");
    if (stopped_) return error_response(ErrorKind::unavailable, "this node is not the master");
    return std::nullopt;
}

void MasterRole::take_upgrade(ByteStream stream, HttpRequest req) {
    StreamHello hello = decode_stream_hello(req.target());  // checked by check_upgrade
    std::make_shared<StreamSession>(std::move(stream), std::move(hello), streams_)
        ->run(std::move(req));
}

}  // namespace sqlrep::master
