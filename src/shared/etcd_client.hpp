#pragma once
// A small blocking client for etcd's v3 API, through the JSON gateway every etcd member
// serves on its client port (grpc-gateway: POST <prefix>/<service>/<method> with the gRPC
// message as JSON). There is no C++ etcd client in Debian; this covers what a leader
// election needs (the master key of DESIGN.md, Failover; see master_lease.hpp): leases,
// reading one key, and compare-and-set transactions. No watches: callers poll.
//
// The gateway's encoding, which this unit hides: keys and values are base64, int64 fields
// (revisions, lease IDs, TTLs) are JSON strings, and proto3 leaves out every field at its
// zero value (no "kvs" for a missing key, no "succeeded" for a failed compare, no "TTL"
// for an expired lease). Errors come back as {"error", "code": <gRPC code>, "message"}.
//
// Endpoints: a list of member URLs (http only). A call goes to the endpoint that answered
// last and moves on to the next when it cannot connect, times out, or the member answers
// UNAVAILABLE (no leader); all attempts of one call together are bounded by
// EtcdOptions::call_timeout. A call whose request may have reached a member before its
// connection failed can thus run twice: create_if_absent / compare_and_put may then answer
// false for a write of this very client. Callers that must know check with get() (the
// value and lease are theirs); MasterLease does.
//
// Errors: every call throws EtcdError, whose etcd_kind() says what happened
// (unreachable, timeout, rejected); code branches on that, never on the message.
//
// Thread contract: not thread-safe (one EtcdClient per thread); every call blocks for up
// to call_timeout, so never call it on an I/O thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/error.hpp"
#include "shared/json.hpp"

namespace sqlrep {

class HttpClient;

enum class EtcdErrorKind {
    unreachable,  // no endpoint accepted a connection (or each dropped it)
    timeout,      // the call's time bound ran out before an answer
    rejected,     // etcd answered with an error, or with something that is not its API
};

// "unreachable", "timeout", "rejected": for logs.
const char* etcd_error_kind_name(EtcdErrorKind kind);

// An etcd call that failed. Also an sqlrep Error: unreachable -> unavailable,
// timeout -> timeout, rejected -> internal.
class EtcdError : public Error {
  public:
    EtcdError(EtcdErrorKind kind, const std::string& message, int grpc_code = 0);
    EtcdErrorKind etcd_kind() const { return etcd_kind_; }
    // The gRPC status code etcd gave a rejected call (5 not found, 9 failed precondition,
    // 14 unavailable, ...); 0 for the other kinds.
    int grpc_code() const { return grpc_code_; }

  private:
    EtcdErrorKind etcd_kind_;
    int grpc_code_;
};

// One key as etcd stores it.
struct EtcdKeyValue {
    std::string value;
    int64_t create_revision = 0;  // the revision that created the key (never 0 for a key)
    int64_t mod_revision = 0;     // the revision of its last change
    int64_t lease = 0;            // the lease it is attached to; 0: none
};

struct EtcdOptions {
    // Member client URLs, "http://127.0.0.1:2379"; at least one.
    std::vector<std::string> endpoints;
    // Bounds each call, all endpoint attempts together.
    std::chrono::milliseconds call_timeout{3000};
    // Bounds one endpoint's attempt, so a member that hangs leaves time for the next.
    std::chrono::milliseconds attempt_timeout{1000};
    // The gateway's path prefix. Debian 12's etcd-server (3.4) serves "/v3" and "/v3beta";
    // 3.3 served only "/v3beta", 3.5 and later only "/v3".
    std::string api_prefix = "/v3";
};

// Splits "http://a:2379,http://b:2379" (spaces around commas allowed). Throws
// Error(bad_request) when the list is empty or an entry is not an http URL.
std::vector<std::string> parse_etcd_endpoints(const std::string& comma_separated);

class EtcdClient {
  public:
    // Throws Error(bad_request) when an endpoint is not an http URL or there is none.
    explicit EtcdClient(EtcdOptions options);
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    // Leases. grant_lease returns the new lease's ID; etcd may grant a longer TTL than
    // asked (it raises short ones to its minimum, 2 s by default), never a shorter one.
    int64_t grant_lease(std::chrono::seconds ttl);
    // Refreshes the lease once (one message on etcd's keep-alive stream). Returns its TTL,
    // which etcd counts from when its leader handled the refresh (so after the request was
    // sent); 0 when the lease has expired, was revoked or never existed (not an error).
    std::chrono::seconds keep_alive_once(int64_t lease);
    // Revokes the lease, deleting every key attached to it. A lease that no longer exists
    // is not an error.
    void revoke_lease(int64_t lease);

    // The key, or nullopt when absent. Linearizable (goes through etcd's leader).
    std::optional<EtcdKeyValue> get(const std::string& key);

    // Transactions; each returns true when its compare held and the write was made.
    // Puts the key only when it does not exist. lease 0: no lease.
    bool create_if_absent(const std::string& key, const std::string& value, int64_t lease = 0);
    // Puts the key only when its mod_revision is `expected_mod_revision` (etcd compares a
    // missing key as revision 0, so 0 means "absent").
    bool compare_and_put(const std::string& key, int64_t expected_mod_revision,
                         const std::string& value, int64_t lease = 0);
    // Deletes the key only when it holds exactly `value` (false when absent).
    bool delete_if_value(const std::string& key, const std::string& value);

    // The URL of the endpoint that answered last (the first one before any call).
    const std::string& current_endpoint() const;

  private:
    // POSTs `body` to api_prefix + path and returns the answer's (first) JSON object.
    json::object call(const std::string& path, const json::object& body);
    bool txn(const json::object& compare, const json::object& success);

    // fixed after construction
    EtcdOptions options_;
    std::vector<std::unique_ptr<HttpClient>> clients_;  // one per endpoint, same order

    std::size_t preferred_ = 0;  // index of the endpoint that answered last
};

}  // namespace sqlrep
