#pragma once
// Automatic failover through etcd (--etcd): who is master is whoever holds the key
// /sqlrep/<cluster>/master on a lease it keeps alive (MasterLease). The elector runs on a
// thread of its own, beside whatever role the node plays:
//
// - Holding the key (master): renew the lease every ttl/6. The node may acknowledge
//   writes and serve strong reads only until the lease's deadline (the send time of the
//   last renewal + ttl - margin), so it stops before etcd can expire the key and let
//   another node take it (fence_reason() says so, from any thread). When the key is gone
//   or another's, step down.
// - Not holding it: follow the node the key names. When nobody holds it, take part in an
//   election: ask every peer for its position (GET /status); go on only if a majority of
//   the cluster answers (masters left out: a master without the key is stepping down),
//   and only if no answering node is further ahead (last entry's term, then index; the
//   lower id wins a tie), and only while no answering master that can reach etcd is in
//   this node's term or a later one (a handover's target, about to take the key). The
//   winner takes a new term from the counter key /sqlrep/<cluster>/term (compare-and-set,
//   so no two masters ever share a term), then the master key.
// - Master without the key (a handover's target, a forced promotion): its term was taken
//   from the counter for it (reserve_term); it takes the key with that term once free.
// docs/ARCHITECTURE.md ("Failover") says why no acknowledged write can be lost.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "shared/etcd_client.hpp"
#include "shared/master_lease.hpp"

namespace sqlrep {

class Node;

class Elector {
  public:
    explicit Elector(Node& node);
    ~Elector();
    Elector(const Elector&) = delete;
    Elector& operator=(const Elector&) = delete;

    void start();
    void stop();
    // Look at etcd now instead of at the next tick (the master was lost).
    void wake();

    // Why this node, as master, may not acknowledge anything now ("" when it may). Any
    // thread.
    std::string fence_reason() const;

    // A term of its own from etcd's counter, at least `at_least`, for a master named
    // without an election (a handover's target, a forced promotion): no candidate can
    // have it or take it, so claim() takes the key with it. Control thread (it has an
    // etcd client of its own); throws EtcdError when etcd cannot be reached.
    int64_t reserve_term(int64_t at_least);

  private:
    void run();
    void tick();
    void lead();
    void follow_or_elect();
    void elect();
    void claim(const std::optional<MasterHolder>& holder);
    int64_t next_term(EtcdClient& client, int64_t at_least);
    std::string term_key() const;

    Node& node_;
    EtcdClient client_;
    std::mutex reserve_mutex_;
    EtcdClient reserve_client_;  // reserve_term's, guarded by reserve_mutex_
    MasterLease lease_;
    const std::chrono::milliseconds ttl_;

    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;  // guarded by mutex_
    bool woken_ = false;     // guarded by mutex_

    // The lease's deadline while this node holds the key (steady clock, ns since its
    // epoch); 0 when it does not.
    std::atomic<int64_t> deadline_ns_{0};
    std::atomic<bool> leading_{false};
};

}  // namespace sqlrep
