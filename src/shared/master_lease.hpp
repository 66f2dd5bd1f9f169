#pragma once
// The master key of automatic failover (DESIGN.md, Failover): at most one node holds
// /sqlrep/<cluster-name>/master in etcd, attached to a lease that node keeps alive; its
// value says who that node is: {"id":N,"term":T,"url":"http://..."}. Role-agnostic and
// independent of the rest of sqlrep: it only talks to etcd through an EtcdClient.
//
// The holder's deadline. etcd deletes the key when the lease's TTL runs out, and from then
// on another node may take the key and become master; the old master must have stopped
// acting as master (acknowledging writes) before that. A keep-alive resets the lease to
// its full TTL when etcd's leader handles it, which is after this node SENT the request
// and at an unknown time before the answer ARRIVED (the request may wait in buffers, in
// etcd's queue, or be retried on another endpoint). So etcd's expiry is at least
//     send time + TTL
// but may be earlier than receive time + TTL: measuring from the answer could leave this
// node believing it leads after etcd has handed the key to someone else. The deadline is
// therefore  send time of the last successful keep-alive + TTL - safety margin,  on the
// steady clock; the margin absorbs clock-rate differences between this host and etcd's
// leader and the time the caller needs to notice and stop. The grant that starts the
// lease counts the same way. A renewal moves the deadline only when it also found the key
// still ours (a lease can outlive its key if someone deletes the key).
//
// Usage: try_acquire; then renew() about every TTL/3 and act as master only while
// held() (check it right before each acknowledgement); release() on a clean stop.
//
// Thread contract: not thread-safe; calls block on etcd (up to the client's call_timeout
// each, two calls for try_acquire and renew), so never on an I/O thread. Uses the
// EtcdClient from the same thread; the client must outlive this object.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "shared/etcd_client.hpp"

namespace sqlrep {

// What the master key says about its holder.
struct MasterRecord {
    int64_t id = 0;    // node id
    int64_t term = 0;  // the term it is master in
    std::string url;   // where clients and replicas reach it
    bool operator==(const MasterRecord&) const = default;
};

// {"id":N,"term":T,"url":"..."}.
std::string encode_master_record(const MasterRecord& record);
// Throws Error(bad_request) when `text` is not such an object.
MasterRecord decode_master_record(const std::string& text);

// The key's current holder as etcd has it.
struct MasterHolder {
    MasterRecord record;
    int64_t lease = 0;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
};

struct MasterLeaseOptions {
    std::string cluster_name;  // the key is /sqlrep/<cluster_name>/master
    // The lease TTL (etcd raises one below its minimum, 2 s by default).
    std::chrono::seconds ttl{10};
    // Subtracted from send time + TTL. Precondition: less than ttl.
    std::chrono::milliseconds safety_margin{2000};
};

class MasterLease {
  public:
    using Clock = std::chrono::steady_clock;

    // Throws Error(bad_request) when the cluster name is empty or contains '/', or the
    // margin is not below the TTL.
    MasterLease(EtcdClient& client, MasterLeaseOptions options);
    MasterLease(const MasterLease&) = delete;
    MasterLease& operator=(const MasterLease&) = delete;

    // "/sqlrep/<cluster_name>/master".
    static std::string key_for(const std::string& cluster_name);
    const std::string& key() const { return key_; }

    // Grants a lease and creates the key on it if absent. True when this object now holds
    // the key (deadline: grant's send time + TTL - margin); false when someone holds it.
    // Precondition: not holding (after release() or a lost renewal it may be called
    // again). Throws EtcdError when etcd cannot tell (then nothing is held; a lease it may
    // have granted expires by itself).
    bool try_acquire(int64_t id, int64_t term, const std::string& url);

    struct RenewResult {
        bool held = false;               // held() after this renewal
        Clock::time_point deadline{};    // deadline() after this renewal
        std::optional<EtcdError> error;  // etcd could not be asked; the deadline stands
    };
    // Keeps the lease alive once and checks that the key is still this object's. On
    // success the deadline moves to (this keep-alive's send time + TTL - margin). When etcd
    // says the lease or key is gone, nothing is held any more. When etcd cannot be
    // reached, the old deadline stands (held until then) and `error` says why. Never
    // throws EtcdError. Not holding: returns held = false at once.
    RenewResult renew();

    // Whether this object certainly holds the key now: it acquired it, has not lost or
    // released it, and Clock::now() < deadline().
    bool held() const;
    // When this object must stop considering itself master; time_point::min() when not
    // holding.
    Clock::time_point deadline() const { return deadline_; }
    // The record this object holds the key with (meaningful while a lease is kept).
    const MasterRecord& record() const { return record_; }

    // Who holds the key now, or nullopt. Throws EtcdError, or Error(bad_request) when the
    // key holds something that is not a master record.
    std::optional<MasterHolder> current();

    // Stops holding at once (held() is false from the start of the call), then deletes
    // the key if it is still ours and revokes the lease. Throws EtcdError when etcd cannot
    // be reached (the key then goes when the lease expires). No-op when not holding.
    void release();

  private:
    void forget();

    // fixed after construction
    EtcdClient& client_;
    MasterLeaseOptions options_;
    std::string key_;

    // while holding
    int64_t lease_ = 0;  // 0: not holding
    MasterRecord record_;
    std::string value_;  // encode_master_record(record_), exactly as written
    Clock::time_point deadline_ = Clock::time_point::min();
};

}  // namespace sqlrep
