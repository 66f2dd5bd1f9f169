#include "node/node.hpp"

#include <filesystem>
#include <future>

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "master/master_role.hpp"
#include "node/elector.hpp"
#include "replica/replica_role.hpp"
#include "shared/cluster_overview.hpp"
#include "shared/database_upload.hpp"
#include "shared/http_client.hpp"
#include "shared/node_runtime.hpp"
#include "shared/replication_log.hpp"
#include "shared/temp_files.hpp"
#include "shared/tls_context.hpp"
#include "shared/url.hpp"

namespace sqlrep {
namespace {

// The term of the database's last entry (or, for a data dir of an older sqlrep, the
// term its master recorded), creating the database and its log tables when missing.
// First, the temporary files a crash left behind go: nothing of this node uses them yet.
int64_t stored_term(const NodeConfig& config) {
    std::filesystem::create_directories(config.data_dir);
    if (int removed = remove_temp_files(config.database_path()))
        spdlog::info("removed {} temporary file(s) left by an earlier run", removed);
    Connection conn(config.database_path(), Connection::Mode::writer, config.sync);
    ensure_log_schema(conn);
    int64_t term = last_log_position(conn).term;
    if (auto meta = read_meta(conn, "term")) term = std::max<int64_t>(term, std::stoll(*meta));
    return term;
}

std::string own_url(const NodeConfig& config) {
    if (config.peers.size() > static_cast<std::size_t>(config.node_id))
        return config.peers[static_cast<std::size_t>(config.node_id)];
    return config.advertised_url();
}

std::string peer_url(const NodeConfig& config, int id) {
    if (id >= 0 && config.peers.size() > static_cast<std::size_t>(id))
        return config.peers[static_cast<std::size_t>(id)];
    return "";
}

// Asks every one of `peers` at once (`ask` returns what one answered, or nullopt; a throw
// counts as no answer); returns the answers in `peers`' order.
template <class Ask>
std::vector<PeerStatus> ask_each(const std::vector<PeerStatus>& peers, const Ask& ask) {
    std::vector<std::future<std::optional<PeerStatus>>> asks;
    for (const PeerStatus& peer : peers)
        asks.push_back(std::async(std::launch::async, [&ask, peer]() -> std::optional<PeerStatus> {
            try {
                return ask(peer);
            } catch (const std::exception&) {
                return std::nullopt;
            }
        }));
    std::vector<PeerStatus> out;
    for (auto& a : asks)
        if (auto p = a.get()) out.push_back(*p);
    return out;
}

}  // namespace

Node::Node(NodeConfig config, bool start_as_master)
    : config_(std::move(config)),
      start_as_master_(start_as_master),
      token_(resolve_cluster_token(config_, /*create_if_missing=*/true)),
      server_tls_(config_.tls.enabled() ? make_server_tls(config_.tls) : nullptr),
      client_tls_(config_.tls.enabled() || config_.master_url.rfind("https:", 0) == 0
                      ? make_client_tls(config_.tls)
                      : nullptr),
      cluster_(config_.node_id, own_url(config_), config_.database_path() + ".term",
               stored_term(config_)),
      io_(config_.http_threads),
      reads_(config_.database_path(), config_.read_connections),
      applied_(io_.main()),
      services_{config_,  token_,     reads_,      applied_, published_,
                cluster_, io_.main(), client_tls_, nullptr,  nullptr},
      router_(config_, token_, reads_, applied_, published_, cluster_),
      control_work_(net::make_work_guard(control_)) {
    services_.local_read = [this](ClientRequest req, Respond respond) {
        router_.serve_local_read(std::move(req), std::move(respond));
    };
    services_.newer_term = [this](int64_t term, int id, std::string url) {
        on_newer_term(term, id, std::move(url));
    };
    router_.set_control(this);
    control_thread_ = std::thread([this] { control_.run(); });
    if (!config_.etcd.empty()) {
        elector_ = std::make_unique<Elector>(*this);
        services_.fence_reason = [this] { return elector_->fence_reason(); };
    }

    std::promise<void> started;
    net::post(control_, [&] {
        try {
            start_first_role();
            started.set_value();
        } catch (...) {
            started.set_exception(std::current_exception());  // the node does not start
        }
    });
    try {
        started.get_future().get();
    } catch (...) {
        control_work_.reset();
        control_thread_.join();  // a constructor that throws runs no destructor
        throw;
    }
}

// The first role. With etcd every node starts as a replica and the election decides;
// without, the command line does, unless the peers know a later master. Control thread.
void Node::start_first_role() {
    if (start_as_master_ && config_.etcd.empty()) {
        cluster_.raise_term(std::max<int64_t>(cluster_.term(), 1));
        locate_master();
        ClusterState::Master known = cluster_.master();
        if (known.id >= 0 && known.id != cluster_.self_id() && known.term >= cluster_.term())
            become_replica(/*was_master=*/true);  // a failover happened meanwhile
        else
            become_master(cluster_.term());
        if (!config_.restore_file.empty()) restore_at_boot();
    } else {
        // With etcd the key says where the master is; --master is only a first guess
        // without it.
        if (!config_.master_url.empty() && !start_as_master_ && !elector_)
            cluster_.set_master(0, config_.master_url, 0);
        // A node started as `master` (with etcd, the election decides) may hold
        // writes of its last run that no one acknowledged.
        become_replica(/*was_master=*/start_as_master_);
    }
}

// master --restore FILE: the new cluster's first entry replaces the empty database with
// the file's data (a restore entry, as POST /restore makes). Control thread, at start.
void Node::restore_at_boot() {
    auto* master = dynamic_cast<master::MasterRole*>(role_.get());
    if (master == nullptr)
        throw Error(ErrorKind::conflict,
                    "--restore: this node did not start as master (another node is master "
                    "of a later term)");
    if (applied_.value() > 0)
        throw Error(ErrorKind::conflict,
                    "--restore boots a new cluster, but " + config_.database_path() +
                        " already holds a database (index " + std::to_string(applied_.value()) +
                        "): start without --restore to keep it, or POST /restore to replace it");
    int page_size = 4096;
    {
        Connection probe(config_.database_path(), Connection::Mode::reader);
        page_size = probe.internal([&] {
            auto stmt = probe.cached("PRAGMA page_size");
            return sqlite3_step(stmt.get()) == SQLITE_ROW ? sqlite3_column_int(stmt.get(), 0)
                                                          : page_size;
        });
    }
    std::string checked_path = unique_temp_path(config_.database_path(), "restore-at-boot", ".db");
    CheckedDatabase checked = check_database_upload(
        config_.restore_file, std::nullopt, checked_path, page_size, config_.max_restore_bytes);
    std::promise<master::WriteOutcome> done;
    master->restore(checked, [&](master::WriteOutcome outcome) { done.set_value(outcome); });
    master::WriteOutcome outcome = done.get_future().get();
    if (outcome.error) throw *outcome.error;
    spdlog::info("restored {} ({} table(s), {} bytes) as entry {}", config_.restore_file,
                 checked.tables, checked.bytes, outcome.index);
}

Node::~Node() {
    // Cluster overviews run on detached threads and answer through the listener's
    // sessions: let them end first (each is bounded by its requests' timeouts).
    for (int i = 0; i < 200 && overviews_->load() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    elector_.reset();
    run_on_control([this] {
        if (role_) role_->stop();
    });
    control_work_.reset();
    if (control_thread_.joinable()) control_thread_.join();
}

void Node::run_on_control(std::function<void()> fn) {
    net::post(control_, [fn = std::move(fn)] {
        try {
            fn();
        } catch (const std::exception& e) {
            spdlog::error("role change failed: {}", e.what());
        }
    });
}

int Node::run() {
    listener_ = std::make_shared<HttpListener>(
        io_, tcp::endpoint(net::ip::make_address(config_.host), config_.port), router_,
        config_.http_limits(), server_tls_);
    listener_->run();
    if (elector_) elector_->start();
    spdlog::info("{} {} ready on {} (term {}, index {}, {} other node(s), data {}{})",
                 cluster_.role(), config_.node_id, cluster_.self_url(), cluster_.term(),
                 applied_.value(), config_.num_replicas, config_.database_path(),
                 config_.etcd.empty() ? "" : ", failover through etcd");
    run_until_signal(
        io_, [&] { listener_->stop(); }, [&] { return router_.in_flight(); },
        std::chrono::milliseconds(config_.ack_timeout_ms + config_.wait_timeout_ms));
    if (elector_) elector_->stop();  // releases the master key: no need to wait for its lease
    std::promise<void> stopped;
    run_on_control([&] {
        if (role_) role_->stop();
        stopped.set_value();
    });
    stopped.get_future().get();
    reads_.stop();
    spdlog::info("node {} stopped at index {}", config_.node_id, applied_.value());
    return 0;
}

void Node::set_role(std::shared_ptr<NodeRole> role) {
    if (role_) {
        role_->stop();
        retired_.push_back(role_);
    }
    role_ = std::move(role);
    is_master_ = std::string(role_->name()) == "master";
    cluster_.set_role(role_->name());
    router_.set_role(role_.get());
}

bool Node::is_master() const { return is_master_.load(); }

void Node::become_master(int64_t term) {
    if (role_) {
        role_->stop();  // the writer connection closes before the next one opens
        retired_.push_back(role_);
        role_ = nullptr;
    }
    cluster_.raise_term(term);
    cluster_.set_master(cluster_.self_id(), cluster_.self_url(), term);
    set_role(std::make_shared<master::MasterRole>(services_, term));
    spdlog::info("node {} is MASTER of term {} at index {}", config_.node_id, term,
                 applied_.value());
}

void Node::become_replica(bool was_master) {
    was_master = was_master || is_master();
    if (role_) {
        role_->stop();
        retired_.push_back(role_);
        role_ = nullptr;
    }
    set_role(std::make_shared<replica::ReplicaRole>(
        services_, [this] { on_master_lost(); }, was_master));
}

std::pair<int64_t, int64_t> Node::position() const {
    auto* replica = dynamic_cast<replica::ReplicaRole*>(router_.role());
    int64_t last_term = replica ? replica->last_term() : cluster_.term();
    return {last_term, applied_.value()};
}

void Node::on_newer_term(int64_t term, int master_id, std::string master_url) {
    run_on_control([this, term, master_id, master_url] {
        if (term < cluster_.term()) return;
        cluster_.raise_term(term);
        if (master_id >= 0 && master_id != cluster_.self_id())
            cluster_.set_master(master_id, master_url, term);
        else if (master_id < 0)
            cluster_.forget_master();
        if (is_master()) {
            spdlog::warn("node {} steps down: term {} has begun", config_.node_id, term);
            become_replica();
        }
    });
}

void Node::on_master_lost() {
    // With etcd the election says who is master; without, the peers do.
    if (elector_) return elector_->wake();
    run_on_control([this] { locate_master(); });
}

std::vector<PeerStatus> Node::poll_peers(std::chrono::milliseconds timeout) const {
    std::vector<PeerStatus> peers;
    for (int id = 0; id <= config_.num_replicas; ++id) {
        std::string url = peer_url(config_, id);
        if (id == config_.node_id || url.empty()) continue;
        PeerStatus peer;
        peer.id = id;
        peer.url = url;
        peers.push_back(peer);
    }
    return ask_each(peers, [&](PeerStatus p) -> std::optional<PeerStatus> {
        HttpClient client(p.url, ClientOptions{client_tls_, ""});
        HttpResult r =
            client.request(http::verb::get, "/status", "", {{kTokenHeader, token_}}, timeout);
        if (r.status != 200) return std::nullopt;
        json::object o = json::parse(r.body).as_object();
        p.role = std::string(o.at("role").as_string());
        p.term = o.at("term").to_number<int64_t>();
        p.applied = o.at("applied_index").to_number<int64_t>();
        const json::value* last = o.if_contains("last_term");
        p.last_term = last ? last->to_number<int64_t>() : p.term;
        p.state = std::string(o.at("state").as_string());
        const json::value* etcd = o.if_contains("etcd_reachable");
        p.etcd_reachable = etcd != nullptr && etcd->is_bool() && etcd->get_bool();
        return p;
    });
}

// Without etcd: the master is the node that says it is, with the highest term not older
// than ours.
void Node::locate_master() {
    if (config_.peers.empty()) return;
    std::optional<PeerStatus> best;
    for (const PeerStatus& p : poll_peers(std::chrono::milliseconds(500)))
        if (p.role == "master" && p.term >= cluster_.term() && (!best || p.term > best->term))
            best = p;
    if (!best) return;
    cluster_.raise_term(best->term);
    cluster_.set_master(best->id, best->url, best->term);
    if (is_master() && best->id != cluster_.self_id()) become_replica();
}

std::string Node::promotion_risk(const std::vector<PeerStatus>& peers) const {
    if (config_.peers.empty())
        return "this node has no --peers, so it cannot check that no other node holds "
               "acknowledged writes it lacks";
    int visible = 1 + static_cast<int>(peers.size());
    if (visible < config_.majority())
        return "it sees " + std::to_string(visible) + " of " +
               std::to_string(config_.num_replicas + 1) +
               " nodes (itself included), not a majority: a write acknowledged by the others "
               "may be missing here";
    // A master that still takes writes may acknowledge one (with the other replicas'
    // acks) after this node's position was read: it would be missing here.
    for (const PeerStatus& p : peers)
        if (p.role == "master" && p.state == "serving")
            return "node " + std::to_string(p.id) + " (" + p.url + ") is master of term " +
                   std::to_string(p.term) +
                   " and takes writes: a write it acknowledges meanwhile would be missing "
                   "here; move the role with POST /_cluster/handover {\"id\": " +
                   std::to_string(config_.node_id) + "} on it, or stop it first";
    auto [last_term, applied] = position();
    for (const PeerStatus& p : peers)
        if (std::pair(p.last_term, p.applied) > std::pair(last_term, applied))
            return "node " + std::to_string(p.id) + " (" + p.url + ") is further ahead (index " +
                   std::to_string(p.applied) + " of term " + std::to_string(p.last_term) +
                   ", this node " + std::to_string(applied) + " of term " +
                   std::to_string(last_term) + "): promote it instead";
    return "";
}

void Node::announce_to_peers(int master_id, const std::string& master_url, int64_t term) const {
    std::string body =
        json::serialize(json::object{{"id", master_id}, {"url", master_url}, {"term", term}});
    for (int id = 0; id <= config_.num_replicas; ++id) {
        std::string url = peer_url(config_, id);
        if (id == config_.node_id || id == master_id || url.empty()) continue;
        std::thread([url, body, token = token_, tls = client_tls_] {
            try {
                HttpClient client(url, ClientOptions{tls, ""});
                client.post("/_cluster/announce", body, {{kTokenHeader, token}},
                            std::chrono::milliseconds(1000));
            } catch (const std::exception&) {
                // It learns the term from the stream or the election instead.
            }
        }).detach();
    }
}

void Node::promote(bool force, Respond respond) {
    run_on_control([this, force, respond] {
        if (is_master())
            return respond(error_response(ErrorKind::conflict, "this node is the master already"));
        if (elector_ && !force)
            return respond(error_response(
                ErrorKind::conflict,
                "this cluster elects its master through etcd: use a handover on the master, "
                "or {\"force\": true} to override the election"));
        std::vector<PeerStatus> peers = poll_peers(std::chrono::milliseconds(1000));
        if (std::string risk = promotion_risk(peers); !risk.empty() && !force)
            return respond(error_response(ErrorKind::conflict, "not promoted: " + risk +
                                                                   " (send {\"force\": true} to "
                                                                   "promote anyway)"));
        int64_t term = cluster_.term();
        for (const PeerStatus& p : peers) term = std::max(term, p.term);
        ++term;
        if (!elector_ && !force) {
            // The positions above were read while the old master may still have been
            // taking writes with the other replicas' acks (it is out of sight here, not
            // necessarily dead). So: a majority takes the new term first, which ends their
            // following of any older master, and the positions are compared again after.
            cluster_.raise_term(term);
            cluster_.forget_master();
            become_replica();
            std::vector<PeerStatus> fenced = fence_peers(peers, term);
            int took = 1 + static_cast<int>(fenced.size());
            if (took < config_.majority())
                return respond(
                    error_response(ErrorKind::conflict,
                                   "not promoted: only " + std::to_string(took) + " of " +
                                       std::to_string(config_.num_replicas + 1) +
                                       " nodes took term " + std::to_string(term) +
                                       ", not a majority; those wait for a master: promote again"));
            auto [last_term, applied] = position();
            for (const PeerStatus& p : fenced)
                if (std::pair(p.last_term, p.applied) > std::pair(last_term, applied))
                    return respond(error_response(
                        ErrorKind::conflict,
                        "not promoted: node " + std::to_string(p.id) + " (" + p.url +
                            ") turned out further ahead once term " + std::to_string(term) +
                            " stopped the old master's stream (index " + std::to_string(p.applied) +
                            ", this node " + std::to_string(applied) +
                            "); it has every acknowledged write: promote it"));
        }
        if (elector_) {
            try {
                term = elector_->reserve_term(term);  // no candidate can have it
            } catch (const std::exception& e) {
                return respond(error_response(
                    ErrorKind::unavailable,
                    std::string("not promoted: cannot take a term from etcd: ") + e.what()));
            }
        }
        become_master(term);
        announce_to_peers(cluster_.self_id(), cluster_.self_url(), term);
        respond(json_response(200, json::object{{"ok", true},
                                                {"term", term},
                                                {"master", cluster_.self_url()},
                                                {"index", applied_.value()}}));
    });
}

void Node::handover(int target, Respond respond) {
    run_on_control([this, target, respond] {
        auto* master = dynamic_cast<master::MasterRole*>(role_.get());
        if (master == nullptr)
            return respond(error_response(
                ErrorKind::conflict,
                "this node is not the master: send the handover to " + cluster_.master_url()));
        if (target == cluster_.self_id() || !master->registry().is_replica(target))
            return respond(error_response(
                ErrorKind::bad_request,
                "node " + std::to_string(target) + " is not one of this master's replicas"));
        std::string url = master->registry().url(target);
        if (url.empty())
            return respond(error_response(
                ErrorKind::conflict,
                "node " + std::to_string(target) + " has not connected to this master"));
        auto started = std::chrono::steady_clock::now();
        // The target's term. With etcd it comes from the counter, so no candidate has it
        // and the target can take the key with it once this node gives the key up.
        int64_t term = cluster_.term() + 1;
        if (elector_) {
            try {
                term = elector_->reserve_term(term);
            } catch (const std::exception& e) {
                return respond(error_response(
                    ErrorKind::unavailable,
                    std::string("cannot take a term from etcd: ") + e.what() + ": no handover"));
            }
        }
        int64_t last =
            master->stop_writes("a handover to node " + std::to_string(target) + " is under way");
        // The target must hold every entry before it takes over: nothing is lost.
        auto deadline = started + std::chrono::milliseconds(config_.ack_timeout_ms);
        while (master->registry().acked(target) < last &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        if (master->registry().acked(target) < last) {
            become_master(term);  // writes resume here, in a new term
            return respond(error_response(ErrorKind::timeout, "node " + std::to_string(target) +
                                                                  " did not catch up with index " +
                                                                  std::to_string(last) +
                                                                  ": no handover"));
        }
        try {
            HttpClient client(url, ClientOptions{client_tls_, ""});
            HttpResult r = client.post(
                "/_cluster/announce",
                json::serialize(json::object{{"id", target}, {"url", url}, {"term", term}}),
                {{kTokenHeader, token_}}, std::chrono::milliseconds(2000));
            if (r.status != 200) throw Error(ErrorKind::conflict, r.body);
        } catch (const std::exception& e) {
            // The target may still act on the announce (sent, but its answer lost or late,
            // as from a paused node): it would then be master of `term` beside this node.
            // So this node goes on in a later term and tells the others, the target too,
            // which then steps down (or refuses the older announce when it comes second).
            int64_t stay = term + 1;
            if (elector_) {
                try {
                    stay = elector_->reserve_term(stay);
                } catch (const std::exception&) {
                    // etcd's key still names this node: the target cannot take it.
                }
            }
            become_master(stay);
            announce_to_peers(cluster_.self_id(), cluster_.self_url(), stay);
            return respond(error_response(
                ErrorKind::unavailable,
                "node " + std::to_string(target) + " did not take the master role (" + e.what() +
                    "): this node stays master, in term " + std::to_string(stay)));
        }
        cluster_.raise_term(term);
        cluster_.set_master(target, url, term);
        become_replica();
        announce_to_peers(target, url, term);
        if (elector_) elector_->wake();  // it gives the key up for the target to take
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        respond(json_response(200, json::object{{"ok", true},
                                                {"master", url},
                                                {"term", term},
                                                {"index", last},
                                                {"took_ms", took.count()}}));
    });
}

std::vector<PeerStatus> Node::fence_peers(const std::vector<PeerStatus>& peers,
                                          int64_t term) const {
    std::string body = json::serialize(json::object{{"id", cluster_.self_id()}, {"term", term}});
    // A peer that does not take the term is not fenced: it does not count to the majority.
    return ask_each(peers, [&](PeerStatus p) -> std::optional<PeerStatus> {
        HttpClient client(p.url, ClientOptions{client_tls_, ""});
        HttpResult r = client.post("/_cluster/prepare", body, {{kTokenHeader, token_}},
                                   std::chrono::milliseconds(2000));
        if (r.status != 200) return std::nullopt;
        json::object o = json::parse(r.body).as_object();
        p.term = o.at("term").to_number<int64_t>();
        p.last_term = o.at("last_term").to_number<int64_t>();
        p.applied = o.at("applied_index").to_number<int64_t>();
        return p;
    });
}

void Node::prepare(int candidate, int64_t term, Respond respond) {
    run_on_control([this, candidate, term, respond] {
        if (term <= cluster_.term())
            return respond(
                error_response(ErrorKind::conflict, "term " + std::to_string(term) +
                                                        " is not newer than this node's term " +
                                                        std::to_string(cluster_.term())));
        // Durably first, so that after a restart this node still refuses older masters;
        // then the role restarts, which joins the follower: once this answers, nothing more
        // of an older master's stream is applied or acknowledged here.
        cluster_.raise_term(term);
        cluster_.forget_master();
        if (is_master())
            spdlog::warn("node {} steps down: node {} prepares term {}", config_.node_id, candidate,
                         term);
        become_replica();
        auto [last_term, applied] = position();
        respond(json_response(200, json::object{{"ok", true},
                                                {"term", term},
                                                {"last_term", last_term},
                                                {"applied_index", applied}}));
    });
}

void Node::announce(int id, std::string url, int64_t term, Respond respond) {
    run_on_control([this, id, url, term, respond] {
        if (term < cluster_.term())
            return respond(error_response(ErrorKind::conflict,
                                          "term " + std::to_string(term) + " is older than " +
                                              std::to_string(cluster_.term())));
        if (id == cluster_.self_id()) {
            // A handover names this node: take over, unless already master of this term.
            if (!is_master() || cluster_.term() < term) become_master(term);
            if (elector_) elector_->wake();  // it takes the key for this term
            return respond(json_response(200, json::object{{"ok", true}, {"term", term}}));
        }
        cluster_.raise_term(term);
        cluster_.set_master(id, url, term);
        if (is_master()) become_replica();
        respond(json_response(200, json::object{{"ok", true}, {"term", term}}));
    });
}

void Node::overview(Respond respond) {
    // Each overview holds a thread for up to a few seconds; a console polls every few.
    constexpr int kMaxOverviews = 4;
    if (overviews_->fetch_add(1) >= kMaxOverviews) {
        overviews_->fetch_sub(1);
        return respond(error_response(ErrorKind::unavailable,
                                      "too many cluster overviews at once; ask again shortly"));
    }
    OverviewSources sources;
    sources.urls.push_back(cluster_.self_url());
    sources.urls.push_back(cluster_.master_url());
    for (int id = 0; id <= config_.num_replicas; ++id)
        sources.urls.push_back(peer_url(config_, id));
    sources.client = ClientOptions{client_tls_, ""};
    sources.cluster_token = token_;
    sources.expected_nodes = config_.num_replicas + 1;
    // Owns copies only: it may outlive a request, not the process (it is bounded by the
    // overview's timeouts, a few seconds).
    std::thread([sources = std::move(sources), respond = std::move(respond), count = overviews_] {
        try {
            respond(json_response(200, cluster_overview(sources)));
        } catch (const std::exception& e) {
            spdlog::error("cluster overview failed: {}", e.what());
            respond(error_response(ErrorKind::internal, e.what()));
        }
        count->fetch_sub(1);
    }).detach();
}

void Node::take_master_role(int64_t term, std::function<void(bool)> done) {
    run_on_control([this, term, done] {
        if (term < cluster_.term()) return done(false);
        try {
            become_master(term);
        } catch (const std::exception& e) {
            spdlog::error("cannot become master: {}", e.what());
            become_replica();
            return done(false);
        }
        announce_to_peers(cluster_.self_id(), cluster_.self_url(), term);
        done(true);
    });
}

std::string Node::why_not_lead() const {
    // Only divergence disqualifies: a node that stepped down and has not been checked yet
    // may still be the one holding the most (its ranking decides that).
    auto* replica = dynamic_cast<replica::ReplicaRole*>(router_.role());
    return replica && replica->diverged() ? replica->local_read_refusal() : "";
}

}  // namespace sqlrep
