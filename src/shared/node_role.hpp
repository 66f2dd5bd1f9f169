#pragma once
// What the HTTP edge asks of the role a node plays now. NodeRouter keeps the current role
// and asks it only these questions; src/master and src/replica implement it, and a node
// that is promoted (or steps down) swaps one for the other without restarting
// (src/node/node.hpp). Everything that does not depend on the role (parsing, credentials,
// local reads, /checksum) stays in NodeRouter.

#include <filesystem>
#include <optional>
#include <string>

#include "shared/byte_stream.hpp"
#include "shared/client_request.hpp"
#include "shared/database_upload.hpp"
#include "shared/http_server.hpp"
#include "shared/http_types.hpp"
#include "shared/json.hpp"

namespace sqlrep {

class NodeRole {
  public:
    virtual ~NodeRole() = default;

    // "master" or "replica".
    virtual const char* name() const = 0;

    // A validated exec request. `raw` is the original request (for forwarding).
    virtual void serve_exec(ClientRequest req, const HttpRequest& raw, Respond respond) = 0;
    // A query with level=strong.
    virtual void serve_strong_read(ClientRequest req, const HttpRequest& raw, Respond respond) = 0;
    // GET /status's body (role-specific fields; the router adds the rest).
    virtual json::object status() = 0;
    // Why this node should get no traffic now (GET /ready answers 503 with it), or "".
    virtual std::string not_ready_reason() = 0;
    // Why this node must not answer reads from its own data now, or "" (a replica that
    // has diverged holds rows the master never wrote until it has resynced).
    virtual std::string local_read_refusal() { return ""; }

    // POST /restore (backup_routes.hpp): replace the whole database with the upload in
    // `upload_path`, a file this call owns and removes; `format` is what its Content-Type
    // said, if anything. Answers once the restore is acknowledged as `ack` asks. Only the
    // master restores.
    virtual void serve_restore(std::string upload_path, std::optional<UploadFormat> /*format*/,
                               AckMode /*ack*/, Respond respond) {
        std::error_code ignored;
        std::filesystem::remove(upload_path, ignored);
        respond(error_response(ErrorKind::conflict, "POST /restore is served by the master only"));
    }

    // The replication stream (the master's /_cluster/stream WebSocket).
    virtual std::optional<HttpResponse> check_upgrade(const HttpRequest&, PeerInfo) {
        return error_response(ErrorKind::not_found, "no WebSocket endpoint here");
    }
    virtual void take_upgrade(ByteStream, HttpRequest) {}

    // Ends the role: its threads are joined, its streams closed, its writer connection
    // closed; requests that reach it afterwards are refused as unavailable. The object
    // stays alive (callbacks in flight may still point at it).
    virtual void stop() = 0;
};

}  // namespace sqlrep
