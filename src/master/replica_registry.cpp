#include "master/replica_registry.hpp"

#include <algorithm>

#include "master/stream_session.hpp"
#include "shared/error.hpp"

namespace sqlrep::master {

ReplicaRegistry::ReplicaRegistry(net::io_context& ioc, int num_replicas, int self_id)
    : ioc_(ioc), quorum_(ioc), all_(ioc) {
    for (int id = 0; id <= num_replicas; ++id)
        if (id != self_id) replicas_.push_back(Replica{id, "", 0, {}, false});
}

bool ReplicaRegistry::is_replica(int id) const { return find(id) != nullptr; }

const ReplicaRegistry::Replica* ReplicaRegistry::find(int id) const {
    for (const auto& r : replicas_)
        if (r.id == id) return &r;
    return nullptr;
}

ReplicaRegistry::Replica& ReplicaRegistry::replica_locked(int id) {
    // Only the registry's own members get here, with ids a stream was accepted for.
    for (auto& r : replicas_)
        if (r.id == id) return r;
    throw Error(ErrorKind::bad_request, "no replica " + std::to_string(id));
}

int64_t ReplicaRegistry::acked(int id) const {
    std::lock_guard lock(mutex_);
    const Replica* r = find(id);
    return r ? r->acked : 0;
}

std::string ReplicaRegistry::url(int id) const {
    std::lock_guard lock(mutex_);
    const Replica* r = find(id);
    return r ? r->url : "";
}

int ReplicaRegistry::replicas_needed(AckMode mode) const {
    int n = num_replicas();
    switch (mode) {
        case AckMode::master:
            return 0;
        // A majority of the 1+n nodes, the master being one of them.
        case AckMode::quorum:
            return (n + 1) / 2;
        case AckMode::all:
            return n;
    }
    return n;
}

uint64_t ReplicaRegistry::epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
}

void ReplicaRegistry::attach(int id, const std::shared_ptr<StreamSession>& session, uint64_t epoch,
                             std::string url) {
    std::shared_ptr<StreamSession> to_close;
    {
        std::lock_guard lock(mutex_);
        if (epoch < epoch_) {
            // It checked the replica's position against entries the master has since given
            // up: let the replica reconnect and be checked again.
            to_close = session;
        } else {
            auto& r = replica_locked(id);
            to_close = r.session.lock();
            r.session = session;
            if (!url.empty()) r.url = std::move(url);
            r.connected = true;
        }
    }
    if (to_close) to_close->close();
}

void ReplicaRegistry::detach(int id, const StreamSession* session) {
    std::lock_guard lock(mutex_);
    auto& r = replica_locked(id);
    if (r.session.lock().get() == session || r.session.expired()) {
        r.session.reset();
        r.connected = false;
    }
}

void ReplicaRegistry::record_ack(int id, int64_t index, uint64_t epoch) {
    std::lock_guard lock(mutex_);
    // Sent by a replica that may hold entries the master has given up since.
    if (epoch < epoch_) return;
    auto& r = replica_locked(id);
    // A replica that resynced from a snapshot may report a lower index; take it as is.
    r.acked = index;
    update_watches_locked();
}

void ReplicaRegistry::retract(int64_t index) {
    {
        std::lock_guard lock(mutex_);
        ++epoch_;
        for (auto& r : replicas_) r.acked = std::min(r.acked, index);
        update_watches_locked(/*may_go_down=*/true);
    }
    close_all();
}

void ReplicaRegistry::update_watches_locked(bool may_go_down) {
    std::vector<int64_t> acked;
    for (const auto& r : replicas_) acked.push_back(r.acked);
    std::sort(acked.begin(), acked.end(), std::greater<>());
    auto move = [may_go_down](IndexWatch& watch, int64_t value) {
        if (may_go_down) {
            if (value < watch.value()) watch.reset(value);
        } else {
            watch.advance(value);
        }
    };
    int needed = replicas_needed(AckMode::quorum);
    if (needed > 0) move(quorum_, acked[static_cast<std::size_t>(needed - 1)]);
    if (!acked.empty()) move(all_, acked.back());
}

std::vector<std::shared_ptr<StreamSession>> ReplicaRegistry::sessions() const {
    std::vector<std::shared_ptr<StreamSession>> out;
    std::lock_guard lock(mutex_);
    for (const auto& r : replicas_)
        if (auto s = r.session.lock()) out.push_back(std::move(s));
    return out;
}

void ReplicaRegistry::notify_entries() {
    for (auto& s : sessions()) s->notify();
}

void ReplicaRegistry::notify_commit() {
    for (auto& s : sessions()) s->notify_commit();
}

void ReplicaRegistry::close_all() {
    for (auto& s : sessions()) s->close();
}

void ReplicaRegistry::wait_for_ack(AckMode mode, int64_t index, std::chrono::milliseconds timeout,
                                   std::function<void(bool)> done) {
    if (replicas_needed(mode) == 0)
        return net::post(ioc_, [done = std::move(done)] { done(true); });
    IndexWatch& watch = mode == AckMode::all ? all_ : quorum_;
    watch.wait(index, timeout, std::move(done));
}

int64_t ReplicaRegistry::trim_floor(int64_t committed, int64_t retain) const {
    std::lock_guard lock(mutex_);
    int64_t acked = committed;
    for (const auto& r : replicas_) acked = std::min(acked, r.acked);
    return acked - retain;
}

int ReplicaRegistry::connected() const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& r : replicas_) n += r.connected && !r.session.expired();
    return n;
}

json::array ReplicaRegistry::status(int64_t master_index) const {
    std::lock_guard lock(mutex_);
    json::array out;
    for (const auto& r : replicas_) {
        out.push_back(json::object{{"id", r.id},
                                   {"url", r.url},
                                   {"acked_index", r.acked},
                                   {"lag", std::max<int64_t>(0, master_index - r.acked)},
                                   {"connected", r.connected && !r.session.expired()}});
    }
    return out;
}

}  // namespace sqlrep::master
