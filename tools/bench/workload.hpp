#pragma once
// The operations bench sends, one kind per Workload: a single-row upsert or a point read,
// in sqlrep's JSON API or dqlite-demo's key/value API, over one key space
// ("key-0" .. "key-<keyspace-1>", each value kValueBytes long) so both systems do the
// same work: INSERT OR REPLACE of one row, SELECT of one row by primary key.
//
// Thread contract: a Workload is immutable once built; next() and succeeded() are called
// concurrently by every load worker, each passing its own random generator.

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "shared/http_client.hpp"

namespace sqlrep::bench {

inline constexpr std::size_t kValueBytes = 64;

struct Request {
    http::verb method = http::verb::post;
    std::string target = "/";
    std::string body;
};

class Workload {
  public:
    virtual ~Workload() = default;
    // Fills `request` with the next operation (a random key).
    virtual void next(Request& request, std::mt19937_64& random) const = 0;
    // Whether the node's answer means the operation succeeded.
    virtual bool succeeded(const HttpResult& result) const = 0;
    // Whether a failed answer is transient and the same request should be sent again (what a
    // real client would do); the retries count in the operation's latency.
    virtual bool retryable(const HttpResult&) const { return false; }
};

// sqlrep: {"command":"exec","query":"INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)",...}
// with "ack" when `ack` is not empty.
std::unique_ptr<Workload> sqlrep_upsert(int64_t keyspace, const std::string& ack);
// sqlrep: {"command":"query","query":"SELECT v FROM kv WHERE k = ?",...}
std::unique_ptr<Workload> sqlrep_point_read(int64_t keyspace);
// dqlite-demo: PUT /<key> with the value as body; GET /<key>. Under concurrent PUTs the
// demo answers "Error: database is locked" (its connection pool meets SQLITE_BUSY); those
// PUTs are retried until they succeed.
std::unique_ptr<Workload> dqlite_put(int64_t keyspace);
std::unique_ptr<Workload> dqlite_get(int64_t keyspace);

// The table sqlrep is benchmarked on, and one statement that fills every key.
inline constexpr const char* kSqlrepTableDdl =
    "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)";
std::string sqlrep_preload_sql(int64_t keyspace);
// The same rows in dqlite-demo's own table (model(key, value)).
std::string dqlite_preload_sql(int64_t keyspace);

}  // namespace sqlrep::bench
