#include "workload.hpp"

namespace sqlrep::bench {

namespace {

std::string key_for(int64_t keyspace, std::mt19937_64& random) {
    return "key-" +
           std::to_string(static_cast<int64_t>(random() % static_cast<uint64_t>(keyspace)));
}

const std::string& value_text() {
    static const std::string value(kValueBytes, 'v');
    return value;
}

bool is_200(const HttpResult& result) { return result.status == 200; }

class SqlrepUpsert : public Workload {
  public:
    SqlrepUpsert(int64_t keyspace, const std::string& ack)
        : keyspace_(keyspace),
          prefix_(
              R"j({"command":"exec","query":"INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)",)j" +
              (ack.empty() ? std::string() : R"("ack":")" + ack + R"(",)") + R"("params":[")"),
          suffix_(R"(",")" + value_text() + R"("]})") {}

    void next(Request& request, std::mt19937_64& random) const override {
        request.method = http::verb::post;
        request.target = "/";
        request.body = prefix_ + key_for(keyspace_, random) + suffix_;
    }
    bool succeeded(const HttpResult& result) const override { return is_200(result); }

  private:
    int64_t keyspace_;
    std::string prefix_;
    std::string suffix_;
};

class SqlrepPointRead : public Workload {
  public:
    explicit SqlrepPointRead(int64_t keyspace) : keyspace_(keyspace) {}
    void next(Request& request, std::mt19937_64& random) const override {
        request.method = http::verb::post;
        request.target = "/";
        request.body = R"({"command":"query","query":"SELECT v FROM kv WHERE k = ?","params":[")" +
                       key_for(keyspace_, random) + R"("]})";
    }
    bool succeeded(const HttpResult& result) const override {
        // A hit has exactly one row; an empty result would mean a missed preload.
        return is_200(result) && result.body.find(R"("rows":[[)") != std::string::npos;
    }

  private:
    int64_t keyspace_;
};

// dqlite-demo answers 200 even on failure, with "Error: ..." as the body.
bool dqlite_ok(const HttpResult& result) {
    return is_200(result) && result.body.rfind("Error", 0) != 0;
}

class DqlitePut : public Workload {
  public:
    explicit DqlitePut(int64_t keyspace) : keyspace_(keyspace) {}
    void next(Request& request, std::mt19937_64& random) const override {
        request.method = http::verb::put;
        request.target = "/" + key_for(keyspace_, random);
        request.body = value_text();
    }
    bool succeeded(const HttpResult& result) const override { return dqlite_ok(result); }
    bool retryable(const HttpResult& result) const override {
        return result.status == 200 && result.body.find("database is locked") != std::string::npos;
    }

  private:
    int64_t keyspace_;
};

class DqliteGet : public Workload {
  public:
    explicit DqliteGet(int64_t keyspace) : keyspace_(keyspace) {}
    void next(Request& request, std::mt19937_64& random) const override {
        request.method = http::verb::get;
        request.target = "/" + key_for(keyspace_, random);
        request.body.clear();
    }
    bool succeeded(const HttpResult& result) const override { return dqlite_ok(result); }

  private:
    int64_t keyspace_;
};

// A recursive CTE producing (key, value) for every key, shared by both preloads.
std::string rows_cte(int64_t keyspace) {
    return "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < " +
           std::to_string(keyspace - 1) + ") ";
}

}  // namespace

std::unique_ptr<Workload> sqlrep_upsert(int64_t keyspace, const std::string& ack) {
    return std::make_unique<SqlrepUpsert>(keyspace, ack);
}
std::unique_ptr<Workload> sqlrep_point_read(int64_t keyspace) {
    return std::make_unique<SqlrepPointRead>(keyspace);
}
std::unique_ptr<Workload> dqlite_put(int64_t keyspace) {
    return std::make_unique<DqlitePut>(keyspace);
}
std::unique_ptr<Workload> dqlite_get(int64_t keyspace) {
    return std::make_unique<DqliteGet>(keyspace);
}

std::string sqlrep_preload_sql(int64_t keyspace) {
    return rows_cte(keyspace) + "INSERT OR REPLACE INTO kv(k, v) SELECT 'key-' || i, '" +
           value_text() + "' FROM s";
}

std::string dqlite_preload_sql(int64_t keyspace) {
    return rows_cte(keyspace) + "INSERT OR REPLACE INTO model(key, value) SELECT 'key-' || i, '" +
           value_text() + "' FROM s";
}

}  // namespace sqlrep::bench
