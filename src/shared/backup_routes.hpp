#pragma once
// The backup routes every node serves (README "Backups", docs/API.md):
//   GET /backup [?format=sqlite|sql] [&compress=none|gzip|zstd]   (rqlite: GET /db/backup,
//       fmt=sql) streams a consistent copy of this node's user data at its applied index
//       (backup_file.hpp), with X-Sqlrep-Index and X-Sqlrep-Hash; any client role.
//   POST /restore [?ack=master|quorum|all]   (rqlite: POST /db/load) replaces the whole
//       database with the body, a SQLite file or an SQL dump (database_upload.hpp); the
//       admin role, on the master only. The body is written to a file as it arrives
//       (Admission::body_file), never held in memory; it is refused from its headers
//       alone, before any of it is read, when the role or the node is wrong or it is over
//       --max-restore-bytes.
//
// Runs on I/O threads and never blocks there. Backups are made one at a time on a thread
// of their own, at a lower CPU priority (nice 10), with a read connection of their own:
// a long copy takes no client read thread, and the writer and the replication stream go
// first (docs/PERFORMANCE.md, "Backups on a bigger database"); they are sent a chunk at
// a time. Restores are checked on the read pool's client lane, then ordered by the
// master's sequencer (NodeRole::serve_restore).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "shared/background_thread.hpp"
#include "shared/client_auth.hpp"
#include "shared/cluster_state.hpp"
#include "shared/http_server.hpp"
#include "shared/net.hpp"
#include "shared/node_config.hpp"
#include "shared/node_role.hpp"
#include "shared/response_stream.hpp"

namespace sqlrep {

class BackupRoutes {
  public:
    using CurrentRole = std::function<NodeRole*()>;
    BackupRoutes(const NodeConfig& config, ClusterState& cluster, CurrentRole role);

    static bool is_backup(std::string_view path) {
        return path == "/backup" || path == "/db/backup";
    }
    static bool is_restore(const HttpRequest& req);

    // GET /backup (a streamed route). `role`: the client's.
    void serve_backup(std::shared_ptr<ResponseStream> stream, const HttpRequest& req, Role role);

    // From check_headers, for POST /restore: a refusal, or nullopt with the upload's file
    // and limit set in `admission`.
    std::optional<HttpResponse> admit_restore(const HttpRequest& headers, Role role,
                                              Admission& admission);
    // From handle(), once the upload is in its file.
    void serve_restore(const HttpRequest& req, const Admission& admission, Respond respond);

  private:
    const NodeConfig& config_;
    ClusterState& cluster_;
    CurrentRole role_;
    // Declared last: destroyed (joined, the backup in progress finished) first.
    BackgroundThread backup_thread_;
};

}  // namespace sqlrep
