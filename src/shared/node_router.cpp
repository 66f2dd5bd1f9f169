#include "shared/node_router.hpp"

#include <spdlog/spdlog.h>

#include "shared/change_feed_endpoint.hpp"
#include "shared/console_page.hpp"
#include "shared/read_transaction.hpp"
#include "shared/replication_log.hpp"
#include "shared/rqlite_status.hpp"
#include "shared/sql_executor.hpp"
#include "shared/table_checksum.hpp"

namespace sqlrep {

NodeRouter::NodeRouter(const NodeConfig& config, const std::string& cluster_token, ReadPool& reads,
                       IndexWatch& applied, const PublishedIndex& published, ClusterState& cluster)
    : config_(config),
      cluster_token_(cluster_token),
      auth_(config.auth_file.empty() ? ClientAuth{} : ClientAuth::load(config.auth_file)),
      reads_(reads),
      applied_(applied),
      published_(published),
      cluster_(cluster),
      rqlite_(std::make_unique<RqliteApi>(config, reads, [this] { return status(); })),
      backups_(std::make_unique<BackupRoutes>(config, cluster, [this] { return role(); })),
      changes_(std::make_unique<ChangeFeedEndpoint>(config, reads, applied)) {
    for (const char* path : {"/backup", "/db/backup"})
        add_stream_route(path, [this](std::shared_ptr<ResponseStream> stream, HttpRequest req,
                                      Role role) { backups_->serve_backup(stream, req, role); });
    // GET /changes as Server-Sent Events: any client role reads the feed.
    add_stream_route("/changes",
                     [this](std::shared_ptr<ResponseStream> response, HttpRequest req, Role) {
                         changes_->serve_sse(std::move(response), std::move(req));
                     });
    if (auth_.enabled())
        spdlog::info("client tokens from {}: requests need 'Authorization: Bearer <token>'",
                     config.auth_file);
    else
        spdlog::warn(
            "no --auth file: this node is open, any client that reaches {} may read, "
            "write and change the schema",
            config.advertised_url());
}

void NodeRouter::set_role(NodeRole* role) { role_.store(role, std::memory_order_release); }

NodeRole* NodeRouter::role() const { return role_.load(std::memory_order_acquire); }

json::object NodeRouter::status() {
    json::object body = this->role()->status();
    for (auto& [key, value] : cluster_.status())
        if (!body.contains(key)) body[key] = value;
    return body;
}

std::optional<HttpResponse> NodeRouter::check_upgrade(const HttpRequest& req, PeerInfo peer) {
    std::string_view target = req.target();
    if (ChangeFeedEndpoint::serves(target.substr(0, target.find('?')))) {
        // A client's feed: any role reads it; the session never saw these headers.
        try {
            check_credentials(req, peer);
        } catch (const Error& e) {
            return error_response(e);
        }
        return changes_->check_upgrade(req);
    }
    if (!has_cluster_token(req))
        return error_response(ErrorKind::forbidden,
                              "the replication stream needs the right cluster token");
    if (std::string problem = node_peer_problem(peer); !problem.empty())
        return error_response(ErrorKind::forbidden, problem);
    return this->role()->check_upgrade(req, peer);
}

void NodeRouter::take_upgrade(ByteStream stream, HttpRequest req) {
    std::string_view target = req.target();
    if (ChangeFeedEndpoint::serves(target.substr(0, target.find('?'))))
        return changes_->take_upgrade(std::move(stream), std::move(req));
    this->role()->take_upgrade(std::move(stream), std::move(req));
}

void NodeRouter::add_stream_route(std::string path, StreamRoute route) {
    stream_routes_[std::move(path)] = std::move(route);
}

bool NodeRouter::takes_stream(const HttpRequest& req) const {
    std::string_view target = req.target();
    return req.method() == http::verb::get &&
           stream_routes_.contains(target.substr(0, target.find('?')));
}

void NodeRouter::take_stream(ByteStream stream, HttpRequest req, PeerInfo, Admission admission) {
    auto response = ResponseStream::create(std::move(stream), req.version());
    std::string_view target = req.target();
    const StreamRoute& route = stream_routes_.find(target.substr(0, target.find('?')))->second;
    try {
        route(response, std::move(req), static_cast<Role>(admission.grant));
    } catch (const Error& e) {
        response->send_whole(error_response(e));
    } catch (const std::exception& e) {
        spdlog::error("a streamed request failed unexpectedly: {}", e.what());
        response->send_whole(
            error_response(ErrorKind::internal, std::string("internal error: ") + e.what()));
    }
}

bool NodeRouter::has_cluster_token(const HttpRequest& req) const {
    auto it = req.find(kTokenHeader);
    return it != req.end() && !cluster_token_.empty() &&
           secrets_equal(std::string(it->value()), cluster_token_);
}

Role NodeRouter::client_role(const HttpRequest& req) const {
    if (!auth_.enabled() || has_cluster_token(req)) return Role::admin;
    auto it = req.find(http::field::authorization);
    if (it == req.end())
        throw Error(ErrorKind::unauthorized,
                    "this node needs a client token: send 'Authorization: Bearer <token>'");
    std::optional<Role> role = auth_.role_for(it->value());
    if (!role) throw Error(ErrorKind::unauthorized, "the bearer token is not valid here");
    return *role;
}

std::string NodeRouter::node_peer_problem(const PeerInfo& peer) const {
    if (config_.tls.ca.empty() || peer.verified_cert) return "";
    return "node-to-node traffic needs a TLS client certificate signed by this node's "
           "--tls-ca (mutual TLS)";
}

namespace {
// An error the router answers itself on POST / ran nothing: it says so, as the role's
// own errors do ("outcome", docs/API.md), so a client knows a write may be sent again.
HttpResponse refusal(const HttpRequest& req, HttpResponse res) {
    std::string_view target = req.target();
    if (req.method() != http::verb::post || target.substr(0, target.find('?')) != "/") return res;
    return with_exec_outcome(std::move(res), ExecOutcome::not_applied);
}
}  // namespace

void NodeRouter::handle(HttpRequest req, PeerInfo peer, Admission admission, Respond original) {
    in_flight_->fetch_add(1);
    Respond respond = [counter = in_flight_, responses = responses_,
                       original = std::move(original)](HttpResponse res) {
        responses->record(res.result_int());
        original(std::move(res));
        counter->fetch_sub(1);
    };
    // The outermost boundary of request handling: whatever escapes becomes one response.
    // route() hands `respond` on to the role (moved); a role that throws after taking it
    // must not make this boundary call an empty callback, so that case is only logged.
    auto answer = [&](HttpResponse res) {
        if (respond) return respond(std::move(res));
        spdlog::error("a request failed after its answer was handed on: {}", res.body());
    };
    try {
        if (BackupRoutes::is_restore(req)) return backups_->serve_restore(req, admission, respond);
        route(req, peer, static_cast<Role>(admission.grant), respond);
    } catch (const Error& e) {
        answer(refusal(req, error_response(e)));
    } catch (const std::exception& e) {
        spdlog::error("request failed unexpectedly: {}", e.what());
        answer(error_response(ErrorKind::internal, std::string("internal error: ") + e.what()));
    }
}

// Whether the request's credentials let it in, judged on its headers alone: the
// session calls this before it reads the body (check_headers), and the verdict comes back
// with the request (Admission). Returns the sender's role; throws
// Error(unauthorized/forbidden) to refuse.
Role NodeRouter::check_credentials(const HttpRequest& req, const PeerInfo& peer) const {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));

    // Node-to-node headers are credentials: a request that shows one must prove it.
    bool claims_cluster = req.find(kTokenHeader) != req.end() ||
                          req.find(kForwardedHeader) != req.end() ||
                          req.find(kTermHeader) != req.end();
    if (claims_cluster && !has_cluster_token(req))
        throw Error(ErrorKind::forbidden,
                    "node-to-node requests need the right cluster token (X-Sqlrep-Token)");
    if (std::string problem = node_peer_problem(peer); claims_cluster && !problem.empty())
        throw Error(ErrorKind::forbidden, problem);

    // Health and readiness stay open: load balancers and supervisors probe them without
    // credentials.
    if (path == "/health" || path == "/ready" || path == "/readyz") return Role::read;
    // The console's page holds no data: it asks for a token and sends it on each call.
    if (is_console_request(req)) return Role::read;
    return client_role(req);
}

std::optional<HttpResponse> NodeRouter::check_headers(const HttpRequest& headers, PeerInfo peer,
                                                      Admission& admission) {
    try {
        admission.grant = static_cast<int>(check_credentials(headers, peer));
        if (BackupRoutes::is_restore(headers))
            return backups_->admit_restore(headers, static_cast<Role>(admission.grant), admission);
    } catch (const Error& e) {
        return refusal(headers, error_response(e));
    }
    return std::nullopt;
}

bool NodeRouter::is_node_request(const HttpRequest& headers) const {
    return has_cluster_token(headers);
}

void NodeRouter::route(HttpRequest& req, const PeerInfo& peer, Role role, Respond& respond) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));

    if (path == "/health" || path == "/ready") {
        if (req.method() != http::verb::get)
            throw Error(ErrorKind::method_not_allowed, std::string(path) + " answers GET only");
        if (path == "/health") return respond(json_response(200, json::object{{"ok", true}}));
        std::string not_ready = this->role()->not_ready_reason();
        if (not_ready.empty())
            return respond(json_response(200, json::object{{"ok", true}, {"ready", true}}));
        return respond(json_response(
            503, json::object{{"ok", false}, {"ready", false}, {"error", not_ready}}));
    }

    // rqlite's API (readiness probe, data endpoints, /nodes) beside sqlrep's.
    if (path == "/readyz")
        return respond(
            rqlite_readyz(this->role()->not_ready_reason(), parse_rqlite_options(target).noleader));
    if (RqliteApi::serves(path)) {
        auto native = [this, peer](HttpRequest inner, Respond answer) {
            try {
                // A request built here, never seen by check_headers: judged now.
                route(inner, peer, check_credentials(inner, peer), answer);
            } catch (const Error& e) {
                answer(error_response(e));
            } catch (const std::exception& e) {
                answer(error_response(ErrorKind::internal, e.what()));
            }
        };
        // A copy of respond: serve() may throw, and the caller then answers through it.
        return rqlite_->serve(req, role, std::move(native), respond);
    }

    if (is_console_request(req)) return respond(console_response(req.version()));
    if (path == "/_auth/whoami") {
        if (req.method() != http::verb::get)
            throw Error(ErrorKind::method_not_allowed, "/_auth/whoami answers GET only");
        return respond(json_response(
            200, json::object{{"ok", true}, {"role", role_name(role)}, {"auth", auth_.enabled()}}));
    }

    if (path == "/") {
        if (req.method() != http::verb::post)
            throw Error(ErrorKind::method_not_allowed, "POST a JSON query to /");
        ClientRequest parsed = parse_client_request(req.body(), config_.request_limits());
        if (parsed.claims_replication && !has_cluster_token(req))
            throw Error(ErrorKind::forbidden,
                        "\"replicated\" and \"forwarded\" are reserved for node-to-node traffic "
                        "and need the cluster token");
        if (std::string problem = node_peer_problem(peer);
            parsed.claims_replication && !problem.empty())
            throw Error(ErrorKind::forbidden, problem);
        auto& counter =
            parsed.command == ClientRequest::Command::exec ? commands_.execs : commands_.queries;
        counter.fetch_add(1, std::memory_order_relaxed);
        if (parsed.command == ClientRequest::Command::exec) {
            if (role < Role::write)
                throw Error(ErrorKind::forbidden,
                            "this token has the read role: it may query, not exec; writes need "
                            "the write or admin role");
            // A forwarded write never changes the schema, whatever the replica's scan saw:
            // DDL runs only when an admin sends it to the master itself.
            parsed.may_change_schema =
                role == Role::admin && req.find(kForwardedHeader) == req.end();
            return this->role()->serve_exec(std::move(parsed), req, std::move(respond));
        }
        NodeRole* current = this->role();
        if (parsed.level == ReadLevel::strong)
            return current->serve_strong_read(std::move(parsed), req, std::move(respond));
        if (std::string why = current->local_read_refusal(); !why.empty())
            throw Error(ErrorKind::diverged, why);
        return serve_local_read(std::move(parsed), std::move(respond));
    }

    if (path.substr(0, 10) == "/_cluster/") return route_cluster(path, req, role, respond);
    if (ChangeFeedEndpoint::serves(path))  // a GET was taken over as a stream
        throw Error(ErrorKind::method_not_allowed, "/changes answers GET only");

    bool known = path == "/status" || path == "/checksum" || path == "/metrics";
    if (!known) throw Error(ErrorKind::not_found, "no such endpoint: " + std::string(path));
    if (req.method() != http::verb::get)
        throw Error(ErrorKind::method_not_allowed, std::string(path) + " answers GET only");
    if (path == "/status")
        return respond(
            json_response(200, with_rqlite_status(status(), config_, rqlite_->started())));
    if (path == "/metrics") {
        HttpResponse res{http::status::ok, 11};
        res.set(http::field::content_type, kMetricsContentType);
        res.set(http::field::server, "sqlrep");
        res.body() = metrics_text(status(), this->role()->not_ready_reason(), in_flight(),
                                  *responses_, &commands_);
        return respond(std::move(res));
    }
    serve_checksum(std::move(respond));
}

// The cluster operations: the overview needs any role; promote and handover need the
// admin role (or the cluster token); announce and prepare are node-to-node only.
void NodeRouter::route_cluster(std::string_view path, HttpRequest& req, Role role,
                               Respond& respond) {
    if (path == "/_cluster/overview" && control_ != nullptr) {
        if (req.method() != http::verb::get)
            throw Error(ErrorKind::method_not_allowed, "/_cluster/overview answers GET only");
        return control_->overview(std::move(respond));
    }
    bool known = path == "/_cluster/promote" || path == "/_cluster/handover" ||
                 path == "/_cluster/announce" || path == "/_cluster/prepare";
    if (!known || control_ == nullptr)
        throw Error(ErrorKind::not_found, "no such endpoint: " + std::string(path));
    if (req.method() != http::verb::post)
        throw Error(ErrorKind::method_not_allowed, std::string(path) + " answers POST only");
    if (role < Role::admin)
        throw Error(ErrorKind::forbidden, std::string(path) + " needs the admin role");
    json::object body;
    if (!req.body().empty()) {
        boost::system::error_code ec;
        json::value parsed = json::parse(req.body(), ec);
        if (ec || !parsed.is_object())
            throw Error(ErrorKind::bad_request, std::string(path) + " takes a JSON object");
        body = std::move(parsed.get_object());
    }
    auto integer = [&](const char* name) -> std::optional<int64_t> {
        const json::value* v = body.if_contains(name);
        if (v == nullptr) return std::nullopt;
        if (!v->is_int64())
            throw Error(ErrorKind::bad_request, std::string("\"") + name + "\" must be an integer");
        return v->get_int64();
    };
    if (path == "/_cluster/promote") {
        const json::value* force = body.if_contains("force");
        if (force != nullptr && !force->is_bool())
            throw Error(ErrorKind::bad_request, "\"force\" must be true or false");
        return control_->promote(force != nullptr && force->get_bool(), std::move(respond));
    }
    if (path == "/_cluster/handover") {
        std::optional<int64_t> target = integer("id");
        if (!target || *target < 0 || *target > config_.num_replicas)
            throw Error(ErrorKind::bad_request,
                        "handover takes {\"id\": N}, the node to hand the master role to (0.." +
                            std::to_string(config_.num_replicas) + ")");
        return control_->handover(static_cast<int>(*target), std::move(respond));
    }
    if (!has_cluster_token(req))
        throw Error(ErrorKind::forbidden, std::string(path) + " is node-to-node only");
    std::optional<int64_t> id = integer("id");
    std::optional<int64_t> term = integer("term");
    if (path == "/_cluster/prepare") {
        if (!id || *id < 0 || *id > config_.num_replicas || !term || *term < 1)
            throw Error(ErrorKind::bad_request, "prepare takes {\"id\": 0.." +
                                                    std::to_string(config_.num_replicas) +
                                                    ", \"term\": 1 or more}");
        return control_->prepare(static_cast<int>(*id), *term, std::move(respond));
    }
    const json::value* url = body.if_contains("url");
    if (!id || *id < 0 || *id > config_.num_replicas || !term || *term < 1 || url == nullptr ||
        !url->is_string())
        throw Error(ErrorKind::bad_request, "announce takes {\"id\": 0.." +
                                                std::to_string(config_.num_replicas) +
                                                ", \"url\", \"term\": 1 or more}");
    control_->announce(static_cast<int>(*id), std::string(url->get_string()), *term,
                       std::move(respond));
}

namespace {
// How long a read may run on an I/O thread before it is moved to the read pool. Long
// enough for a point or range read, short enough that the thread's other connections
// hardly notice.
constexpr auto kInlineReadBudget = std::chrono::milliseconds(2);
}  // namespace

// Runs `req` on `conn` and answers it, unless it was cut off by `deadline` while
// `may_retry` (a read has no side effects, so it can simply run again elsewhere): then it
// answers nothing and returns false.
bool NodeRouter::run_read(Connection& conn, const ClientRequest& req,
                          std::chrono::steady_clock::time_point deadline, bool may_retry,
                          const Respond& respond) {
    try {
        conn.set_value_limit(config_.max_result_bytes);
        // BEGIN and COMMIT run outside the deadline (the guard lifts it first), so the
        // connection's deadline is set and lifted once per read.
        ReadTransaction transaction(conn);
        struct DeadlineGuard {
            Connection& c;
            DeadlineGuard(Connection& conn, std::chrono::steady_clock::time_point deadline)
                : c(conn) {
                c.set_deadline(deadline);
            }
            ~DeadlineGuard() { c.set_deadline(std::chrono::steady_clock::time_point::max()); }
        } guard{conn, deadline};
        PublishedIndex::Ticket ticket = published_.start();
        ResultLimits limits;
        limits.max_rows = config_.max_result_rows;
        limits.max_bytes = config_.max_result_bytes;
        ExecutionResult result = execute(conn, req.statements, ExecutionRule::read_only, limits);
        // The writer's published index, unless it committed meanwhile: then the log, in
        // this transaction's snapshot, says which index the statements saw.
        std::optional<int64_t> published = published_.index_if_unchanged(ticket);
        int64_t index = published ? *published : last_log_position(conn).index;
        // The answer is written as text, in this order: {"ok":true, the last statement's
        // columns, types and rows, "index", and "results" when there were several}.
        std::string body = R"({"ok":true)";
        if (!result.results.empty()) {
            const auto& last = result.results.back().as_object();
            for (const char* field : {"columns", "types", "rows"})
                if (const json::value* v = last.if_contains(field)) {
                    body += ",\"";
                    body += field;
                    body += "\":";
                    append_json(body, *v);
                }
        }
        body += R"(,"index":)";
        body += std::to_string(index);
        if (result.results.size() > 1) {
            body += R"(,"results":)";
            append_json(body, result.results);
        }
        body += '}';
        respond(json_text_response(200, std::move(body)));
    } catch (const Error& e) {
        // Anything cut off by the budget (the client's statements or our own read of the
        // log position) is retried; other errors are the answer.
        if (may_retry &&
            (e.kind() == ErrorKind::timeout || std::chrono::steady_clock::now() > deadline))
            return false;
        respond(error_response(e));
    }
    return true;
}

// Whether `req` may run on the I/O thread with `conn`: only a single statement this
// connection has kept, whose every step is short (Connection::ClientStatement), so the
// 2 ms budget really stops it. The I/O threads also carry /health, acks and, on the master,
// the replication stream: a statement whose one step could run for seconds (the count(*)
// of a large table) must never hold them. Anything else runs on the read pool.
static bool runs_inline(Connection& conn, const ClientRequest& req) {
    if (req.statements.size() != 1) return false;
    const Connection::ClientStatement* kept = conn.find_client_statement(req.statements[0].sql);
    return kept != nullptr && kept->short_steps;
}

void NodeRouter::serve_local_read(ClientRequest request, Respond respond) {
    if (request.min_index <= applied_.value())
        return run_local_read(std::move(request), std::move(respond));
    int64_t wanted = request.min_index;
    auto req = std::make_shared<const ClientRequest>(std::move(request));
    applied_.wait(wanted, std::chrono::milliseconds(config_.wait_timeout_ms),
                  [this, wanted, req, respond](bool reached) {
                      if (reached) return run_local_read(*req, respond);
                      respond(error_response(
                          ErrorKind::timeout,
                          "this node has applied index " + std::to_string(applied_.value()) +
                              "; min_index " + std::to_string(wanted) + " was not reached within " +
                              std::to_string(config_.wait_timeout_ms) + " ms"));
                  });
}

void NodeRouter::run_local_read(ClientRequest req, Respond respond) {
    // Try the read right here first: most reads finish well within the budget and so skip
    // two thread hand-offs. One that needs longer, is not known to be short, or finds
    // every connection busy, runs on the pool under the full query timeout.
    bool done = reads_.try_run_here([&](Connection& conn) {
        if (!runs_inline(conn, req)) return false;
        return run_read(conn, req, std::chrono::steady_clock::now() + kInlineReadBudget, true,
                        respond);
    });
    if (done) return;
    reads_.post_client([this, req = std::make_shared<const ClientRequest>(std::move(req)),
                        respond = std::move(respond)](Connection& conn) {
        run_read(
            conn, *req,
            std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.query_timeout_ms),
            false, respond);
    });
}

void NodeRouter::serve_checksum(Respond respond) {
    // A client request: it reads the whole database, so it stays in the client lane.
    reads_.post_client([respond](Connection& conn) {
        try {
            DatabaseChecksum sums = checksum_database(conn);
            json::array tables;
            for (const auto& t : sums.tables)
                tables.push_back(
                    json::object{{"name", t.name}, {"rows", t.rows}, {"checksum", t.checksum}});
            respond(json_response(
                200,
                json::object{{"ok", true}, {"index", sums.index}, {"tables", std::move(tables)}}));
        } catch (const Error& e) {
            respond(error_response(e));
        }
    });
}

}  // namespace sqlrep
