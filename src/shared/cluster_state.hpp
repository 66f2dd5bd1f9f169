#pragma once
// What this node believes about its cluster, shared by the role it plays, the HTTP edge
// and the election: its current term (kept durably), which node is master and where, and
// when its own role last changed. Both roles and every thread read it; the term only
// goes up.
//
// The term lives in a file of its own beside the database (<database>.term, written and
// fsynced before raise_term returns), not in the database: a node must be able to
// remember a higher term while another thread holds the database's write lock, and
// before it has any entry of that term.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "shared/json.hpp"

namespace sqlrep {

class ClusterState {
  public:
    // `term_file` keeps the term; the starting term is the highest of what it holds and
    // `log_term` (the term of the node's last log entry).
    ClusterState(int self_id, std::string self_url, std::string term_file, int64_t log_term);

    int self_id() const { return self_id_; }
    const std::string& self_url() const { return self_url_; }

    int64_t term() const { return term_.load(); }
    // Raises the term to `term` (durably) when it is higher; returns whether it rose.
    bool raise_term(int64_t term);

    // Who is master as far as this node knows (id -1 and "" when it does not know).
    struct Master {
        int id = -1;
        std::string url;
        int64_t term = 0;
    };
    Master master() const;
    std::string master_url() const { return master().url; }
    // Records a master (and counts a failover when it is another node or a later term
    // than the last one known).
    void set_master(int id, std::string url, int64_t term);
    void forget_master();

    // The role this node plays now ("master" or "replica") and since when.
    void set_role(std::string role);
    std::string role() const;

    // The election's state and whether etcd answered lately (for /status).
    void set_election(std::string state, bool etcd_reachable);

    // Counts a snapshot installed over this node's data, in whichever role (for /status:
    // a node that resynced as a replica and is master now still shows it).
    void count_snapshot() { ++snapshots_installed_; }

    // {"term", "role", "master", "master_id", "role_since_ms", "failovers", "election",
    // "snapshots_installed"...}
    json::object status() const;

  private:
    void write_term_file(int64_t term) const;

    const int self_id_;
    const std::string self_url_;
    const std::string term_file_;
    std::atomic<int64_t> term_{0};
    std::atomic<int64_t> failovers_{0};
    std::atomic<int64_t> snapshots_installed_{0};

    mutable std::mutex mutex_;
    Master master_;                  // guarded by mutex_
    std::string role_;               // guarded by mutex_
    int64_t role_since_ms_ = 0;      // guarded by mutex_
    std::string election_ = "none";  // guarded by mutex_
    bool etcd_reachable_ = false;    // guarded by mutex_
    std::mutex term_write_mutex_;    // one writer of the term file at a time
};

}  // namespace sqlrep
