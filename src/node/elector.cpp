#include "node/elector.hpp"

#include <future>

#include <spdlog/spdlog.h>

#include "node/node.hpp"

namespace sqlrep {
namespace {

// etcd's shortest lease is 2 s.
std::chrono::seconds lease_ttl(const NodeConfig& config) {
    return std::chrono::seconds(std::max(2, (config.lease_ttl_ms + 999) / 1000));
}

EtcdOptions etcd_options(const NodeConfig& config) {
    EtcdOptions options;
    options.endpoints = config.etcd;
    // A call must end well within the lease, so a master notices in time.
    options.call_timeout = std::chrono::milliseconds(config.lease_ttl_ms / 4);
    options.attempt_timeout = std::chrono::milliseconds(config.lease_ttl_ms / 8);
    return options;
}

MasterLeaseOptions lease_options(const NodeConfig& config) {
    MasterLeaseOptions options;
    options.cluster_name = config.cluster_name;
    options.ttl = lease_ttl(config);
    // Stop acknowledging a quarter of the lease before it can expire.
    options.safety_margin = std::chrono::duration_cast<std::chrono::milliseconds>(options.ttl) / 4;
    return options;
}

int64_t to_ns(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

Elector::Elector(Node& node)
    : node_(node),
      client_(etcd_options(node.config())),
      reserve_client_(etcd_options(node.config())),
      lease_(client_, lease_options(node.config())),
      ttl_(std::chrono::duration_cast<std::chrono::milliseconds>(lease_ttl(node.config()))) {}

Elector::~Elector() { stop(); }

void Elector::start() {
    thread_ = std::thread([this] { run(); });
}

void Elector::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (leading_.exchange(false)) {
        deadline_ns_ = 0;
        try {
            lease_.release();  // the others need not wait for the lease to expire
        } catch (const std::exception& e) {
            spdlog::warn("could not release the master key: {}", e.what());
        }
    }
}

void Elector::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_.notify_all();
}

std::string Elector::fence_reason() const {
    if (!leading_.load()) return "does not hold the master key in etcd";
    if (to_ns(std::chrono::steady_clock::now()) >= deadline_ns_.load())
        return "cannot renew its master lease in etcd";
    return "";
}

void Elector::run() {
    for (;;) {
        try {
            tick();
        } catch (const EtcdError& e) {
            node_.cluster().set_election(leading_ ? "leader" : "no etcd", false);
            spdlog::warn("etcd: {}", e.what());
        } catch (const std::exception& e) {
            spdlog::error("election: {}", e.what());
        }
        // The master renews six times per lease; the others look four times a second, but
        // a master waiting for the key (a handover named it) twenty times: it takes no
        // writes until it holds the key.
        auto pause = leading_            ? ttl_ / 6
                     : node_.is_master() ? std::chrono::milliseconds(50)
                                         : std::chrono::milliseconds(250);
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, pause, [this] { return stopping_ || woken_; });
        if (stopping_) return;
        woken_ = false;
    }
}

void Elector::tick() {
    if (leading_)
        lead();
    else
        follow_or_elect();
}

void Elector::lead() {
    if (!node_.is_master()) {
        // Handed the role over (or stepped down): the key goes at once, for the new master.
        leading_ = false;
        deadline_ns_ = 0;
        lease_.release();
        node_.cluster().set_election("follower", true);
        return;
    }
    MasterLease::RenewResult renewed = lease_.renew();
    deadline_ns_ = renewed.held ? to_ns(renewed.deadline) : 0;
    node_.cluster().set_election("leader", !renewed.error);
    if (renewed.held) return;
    // Gone (expired while this node could not renew, or taken from it): step down at
    // once; whoever holds the key now is found on the next tick.
    leading_ = false;
    spdlog::warn("node {} lost the master key{}: stepping down", node_.config().node_id,
                 renewed.error ? std::string(" (") + renewed.error->what() + ")" : "");
    node_.on_newer_term(node_.cluster().term(), -1, "");
}

void Elector::follow_or_elect() {
    std::optional<MasterHolder> holder = lease_.current();
    if (node_.is_master()) return claim(holder);
    if (!holder) return elect();
    const MasterRecord& record = holder->record;
    if (record.id == node_.cluster().self_id()) {
        // Held by this node's previous run: wait for its lease to expire.
        node_.cluster().set_election("waiting for an old lease of this node to expire", true);
        return;
    }
    node_.cluster().set_election("follower", true);
    ClusterState::Master known = node_.cluster().master();
    if (known.id != record.id || known.term != record.term || known.url != record.url)
        node_.on_newer_term(record.term, static_cast<int>(record.id), record.url);
}

void Elector::elect() {
    ClusterState& cluster = node_.cluster();
    const NodeConfig& config = node_.config();
    if (!node_.may_lead()) {
        cluster.set_election("not a candidate: " + node_.why_not_lead(), true);
        return;
    }
    std::vector<PeerStatus> peers = node_.poll_peers(std::chrono::milliseconds(500));
    auto [last_term, applied] = node_.position();
    int self = cluster.self_id();
    int voters = 1;
    int64_t highest_term = cluster.term();
    for (const PeerStatus& p : peers) {
        highest_term = std::max(highest_term, p.term);
        // A master of this node's term or later that can reach etcd was named by a
        // handover (or a forced promotion) and takes the key at its next look: electing
        // another node now would take the role from it.
        if (p.role == "master" && p.etcd_reachable && p.term >= cluster.term()) {
            cluster.set_election("candidate: node " + std::to_string(p.id) + " is master of term " +
                                     std::to_string(p.term) + " and takes the key",
                                 true);
            return;
        }
        // A master without the key is stepping down; a diverged node holds what no master
        // wrote; a node that cannot reach etcd could never take the key. None of them
        // takes part: the voters alone must be a majority, so they hold every write a
        // majority acknowledged.
        if (p.role == "master" || p.state == "diverged" || !p.etcd_reachable) continue;
        ++voters;
        if (std::tuple(p.last_term, p.applied, -p.id) > std::tuple(last_term, applied, -self)) {
            cluster.set_election("candidate: node " + std::to_string(p.id) + " is further ahead",
                                 true);
            return;
        }
    }
    int majority = config.majority();
    if (voters < majority) {
        cluster.set_election("candidate: sees " + std::to_string(voters) + " of " +
                                 std::to_string(config.num_replicas + 1) +
                                 " nodes, a majority is " + std::to_string(majority),
                             true);
        return;
    }
    int64_t term = next_term(client_, highest_term + 1);
    if (!lease_.try_acquire(self, term, cluster.self_url())) return;  // another was faster
    deadline_ns_ = to_ns(lease_.deadline());
    leading_ = true;
    spdlog::info("node {} won the election for term {} (index {} of term {}, {} of {} nodes seen)",
                 self, term, applied, last_term, voters, config.num_replicas + 1);
    std::promise<bool> taken;
    node_.take_master_role(term, [&taken](bool ok) { taken.set_value(ok); });
    if (!taken.get_future().get()) {
        leading_ = false;
        deadline_ns_ = 0;
        lease_.release();
        return;
    }
    cluster.set_election("leader", true);
}

// This node became master without an election (a handover named it): it takes the key
// for its term once the old master has given it up, and acknowledges nothing until then.
void Elector::claim(const std::optional<MasterHolder>& holder) {
    ClusterState& cluster = node_.cluster();
    int64_t term = cluster.term();
    if (holder) {
        if (holder->record.term > term)
            node_.on_newer_term(holder->record.term, static_cast<int>(holder->record.id),
                                holder->record.url);
        cluster.set_election("master waiting for the key", true);
        return;
    }
    // The term was reserved for this node (reserve_term); a counter past it means a later
    // term has been handed out since, to a node that may be master now: not ours to claim.
    std::optional<EtcdKeyValue> counter = client_.get(term_key());
    int64_t handed_out = counter ? std::stoll(counter->value) : 0;
    if (handed_out > term) {
        node_.on_newer_term(handed_out, -1, "");
        return;
    }
    if (handed_out < term && next_term(client_, term) != term) return;  // raced: look again
    if (!lease_.try_acquire(cluster.self_id(), term, cluster.self_url())) return;
    deadline_ns_ = to_ns(lease_.deadline());
    leading_ = true;
    cluster.set_election("leader", true);
    spdlog::info("node {} holds the master key for term {}", cluster.self_id(), term);
}

// The next term from etcd's counter, at least `at_least`: a compare-and-set, so two
// elections never hand out the same term, even when neither saw the other's master.
int64_t Elector::next_term(EtcdClient& client, int64_t at_least) {
    std::string key = term_key();
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::optional<EtcdKeyValue> current = client.get(key);
        int64_t stored = current ? std::stoll(current->value) : 0;
        int64_t next = std::max(stored + 1, at_least);
        if (client.compare_and_put(key, current ? current->mod_revision : 0, std::to_string(next)))
            return next;
    }
    throw Error(ErrorKind::conflict, "the term counter in etcd keeps changing");
}

int64_t Elector::reserve_term(int64_t at_least) {
    std::lock_guard lock(reserve_mutex_);
    return next_term(reserve_client_, at_least);
}

std::string Elector::term_key() const { return "/sqlrep/" + node_.config().cluster_name + "/term"; }

}  // namespace sqlrep
