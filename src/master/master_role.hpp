#pragma once
// The master role: writes go to the sequencer and are answered once acked as the
// request's ack mode asks; strong reads run here; the replication stream is accepted on
// /_cluster/stream for nodes with the cluster token. It owns everything only a master
// has (the sequencer and its writer connection, the replica registry, the entry ring)
// and gives it all up in stop(), when the node steps down or hands the role over.

#include <atomic>
#include <limits>
#include <mutex>

#include "master/archiver.hpp"
#include "master/entry_ring.hpp"
#include "master/replica_registry.hpp"
#include "master/sequencer.hpp"
#include "master/sink_runner.hpp"
#include "master/stream_session.hpp"
#include "shared/node_role.hpp"
#include "shared/node_services.hpp"

namespace sqlrep::master {

class MasterRole : public NodeRole {
  public:
    // Opens the node's database for writing and starts ordering writes in `term`.
    MasterRole(const NodeServices& node, int64_t term);
    ~MasterRole() override;

    const char* name() const override { return "master"; }
    void serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    void serve_strong_read(ClientRequest req, const HttpRequest& raw, Respond respond) override;
    void serve_restore(std::string upload_path, std::optional<UploadFormat> format, AckMode ack,
                       Respond respond) override;
    // Replaces the database with the checked file at `path` (consumed) as one restore
    // entry; `done` runs on the writer thread. For master --restore and serve_restore.
    void restore(CheckedDatabase checked, std::function<void(WriteOutcome)> done);
    json::object status() override;
    std::string not_ready_reason() override;
    std::optional<HttpResponse> check_upgrade(const HttpRequest& req, PeerInfo peer) override;
    void take_upgrade(ByteStream stream, HttpRequest req) override;
    void stop() override;

    // For a handover: takes no more writes (those queued fail, never applied) and
    // returns the last committed index. The streams keep going, so replicas catch up.
    int64_t stop_writes(const std::string& reason);
    const ReplicaRegistry& registry() const { return registry_; }

  private:
    // Why writes are refused now ("" when they are not): the master stopped writing, or
    // found itself behind a replica.
    std::string write_refusal() const;
    void refuse_writes(std::string reason);
    void on_refused(StreamRefusal kind, const StreamHello& hello, const std::string& problem);
    void start_sinks();
    // The highest index a change sink may deliver: committed here and acknowledged as the
    // default ack mode asks, so no failover can take it back.
    int64_t deliverable_index() const;
    json::array sinks_status(int64_t index) const;

    const NodeServices& node_;
    const int64_t term_;
    EntryRing ring_;
    ReplicaRegistry registry_;
    std::unique_ptr<Sequencer> sequencer_;
    std::unique_ptr<Archiver> archiver_;  // null without --archive-dir
    std::atomic<int64_t> retracted_from_{std::numeric_limits<int64_t>::max()};
    StreamContext streams_;
    // The change sinks (--cdc-*): started with the role, stopped before the sequencer.
    std::vector<std::unique_ptr<SinkRunner>> sinks_;
    std::atomic<bool> stopped_{false};

    mutable std::mutex mutex_;
    std::string write_refusal_;  // guarded by mutex_
    // Makes the streams' snapshots. Declared last, so destroyed first: the snapshot being
    // made (which uses streams_) is finished before anything else goes.
    BackgroundThread snapshot_thread_;
};

}  // namespace sqlrep::master
