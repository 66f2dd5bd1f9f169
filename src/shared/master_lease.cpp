#include "shared/master_lease.hpp"

#include <spdlog/spdlog.h>

#include "shared/json.hpp"

namespace sqlrep {

std::string encode_master_record(const MasterRecord& record) {
    return json::serialize(
        json::object{{"id", record.id}, {"term", record.term}, {"url", record.url}});
}

MasterRecord decode_master_record(const std::string& text) {
    auto bad = [&] { return Error(ErrorKind::bad_request, "not a master record: '" + text + "'"); };
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) throw bad();
    const json::object& object = value.get_object();
    const json::value* id = object.if_contains("id");
    const json::value* term = object.if_contains("term");
    const json::value* url = object.if_contains("url");
    if (!id || !id->is_int64() || !term || !term->is_int64() || !url || !url->is_string())
        throw bad();
    return {id->get_int64(), term->get_int64(), std::string(url->get_string())};
}

MasterLease::MasterLease(EtcdClient& client, MasterLeaseOptions options)
    : client_(client), options_(std::move(options)), key_(key_for(options_.cluster_name)) {
    if (options_.safety_margin >= options_.ttl || options_.safety_margin.count() < 0)
        throw Error(ErrorKind::bad_request,
                    "the master lease's safety margin must be below its TTL");
}

std::string MasterLease::key_for(const std::string& cluster_name) {
    if (cluster_name.empty() || cluster_name.find('/') != std::string::npos)
        throw Error(ErrorKind::bad_request,
                    "cluster name '" + cluster_name + "' is empty or contains '/'");
    return "/sqlrep/" + cluster_name + "/master";
}

bool MasterLease::held() const { return lease_ != 0 && Clock::now() < deadline_; }

void MasterLease::forget() {
    lease_ = 0;
    deadline_ = Clock::time_point::min();
}

bool MasterLease::try_acquire(int64_t id, int64_t term, const std::string& url) {
    if (held()) throw Error(ErrorKind::conflict, "try_acquire while holding " + key_);
    // A renewal that could not reach etcd before the deadline lost the key: that lease
    // has expired in etcd (or soon will, taking the key with it), so it is forgotten here
    // rather than refused forever.
    forget();
    MasterRecord record{id, term, url};
    std::string value = encode_master_record(record);

    const auto sent = Clock::now();
    const int64_t lease = client_.grant_lease(options_.ttl);
    bool created = false;
    try {
        created = client_.create_if_absent(key_, value, lease);
        if (!created) {
            // The client may have sent the transaction twice (a connection lost after the
            // first reached etcd): then the key is ours although the answer says no.
            auto kv = client_.get(key_);
            created = kv && kv->lease == lease && kv->value == value;
        }
    } catch (const EtcdError&) {
        try {
            client_.revoke_lease(lease);
        } catch (const EtcdError&) {
            // It expires by itself.
        }
        throw;
    }
    if (!created) {
        try {
            client_.revoke_lease(lease);
        } catch (const EtcdError& e) {
            spdlog::debug("etcd: revoking unused lease {} failed ({}); it expires by itself", lease,
                          e.what());
        }
        return false;
    }
    lease_ = lease;
    record_ = std::move(record);
    value_ = std::move(value);
    // A TTL etcd raised above options_.ttl only makes this deadline more conservative.
    deadline_ = sent + options_.ttl - options_.safety_margin;
    return true;
}

MasterLease::RenewResult MasterLease::renew() {
    if (lease_ == 0) return {};
    const auto sent = Clock::now();
    try {
        std::chrono::seconds ttl = client_.keep_alive_once(lease_);
        // The lease can also outlive the key (someone deleted it): then another node may
        // create the key, and this one must not count itself master.
        auto kv = ttl.count() > 0 ? client_.get(key_) : std::nullopt;
        if (!kv || kv->lease != lease_ || kv->value != value_) {
            spdlog::warn("etcd: {} is no longer held by this node ({})", key_,
                         ttl.count() == 0 ? "lease expired" : "key gone or changed");
            forget();
            return {};
        }
        // etcd counts ttl from when its leader handled the keep-alive, at or after `sent`.
        deadline_ = std::max(deadline_, sent + ttl - options_.safety_margin);
        return {held(), deadline_, std::nullopt};
    } catch (const EtcdError& e) {
        return {held(), deadline_, e};
    }
}

std::optional<MasterHolder> MasterLease::current() {
    auto kv = client_.get(key_);
    if (!kv) return std::nullopt;
    return MasterHolder{decode_master_record(kv->value), kv->lease, kv->create_revision,
                        kv->mod_revision};
}

void MasterLease::release() {
    if (lease_ == 0) return;
    const int64_t lease = lease_;
    const std::string value = value_;
    forget();
    client_.delete_if_value(key_, value);
    client_.revoke_lease(lease);
}

}  // namespace sqlrep
