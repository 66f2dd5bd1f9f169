#include "shared/rqlite_api.hpp"

#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include "shared/rqlite_response.hpp"
#include "shared/rqlite_status.hpp"

namespace sqlrep {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Whether a failed sqlrep answer belongs to one statement (rqlite reports it inside
// "results" with 200: bad SQL, a constraint, a refused statement) rather than to the
// whole request (the master unreachable, an ack that did not come, a limit).
bool statement_failure(unsigned status) { return status == 400 || status == 403; }

std::string error_text(const json::value& body, unsigned status) {
    if (body.is_object())
        if (const json::value* e = body.get_object().if_contains("error"); e && e->is_string())
            return std::string(e->get_string());
    return "request failed with HTTP " + std::to_string(status);
}

// A failure of the whole request, as rqlite writes one: plain text. A write's text ends
// with what became of it (sqlrep's "outcome", and its index when committed), which is
// also in the X-Sqlrep-Outcome and X-Sqlrep-Index headers: a client that retries needs
// to know whether the write was applied.
HttpResponse request_failure(const json::value& body, unsigned status) {
    std::string text = error_text(body, status);
    const json::value* outcome = nullptr;
    const json::value* index = nullptr;
    if (body.is_object()) {
        outcome = body.get_object().if_contains("outcome");
        index = body.get_object().if_contains("index");
    }
    if (outcome == nullptr || !outcome->is_string()) return rqlite_text(status, text);
    std::string name(outcome->get_string());
    bool indexed = index != nullptr && index->is_int64();
    text += " (outcome: " + name +
            (indexed ? ", index " + std::to_string(index->get_int64()) : std::string()) + ")";
    HttpResponse res = rqlite_text(status, text);
    res.set("X-Sqlrep-Outcome", name);
    if (indexed) res.set("X-Sqlrep-Index", std::to_string(index->get_int64()));
    return res;
}

// Whether every statement is a read, judged by SQLite (sqlite3_stmt_readonly) on a read
// connection. A statement that does not prepare here counts as a write: the write path
// reports its error.
bool all_reads(Connection& conn, const std::vector<SqlStatement>& statements) {
    sqlite3* db = conn.handle();
    for (const SqlStatement& s : statements) {
        const char* sql = s.sql.c_str();
        const char* end = sql + s.sql.size();
        while (sql < end) {
            conn.policy().begin_statement();
            sqlite3_stmt* stmt = nullptr;
            const char* tail = nullptr;
            int rc = sqlite3_prepare_v2(db, sql, static_cast<int>(end - sql), &stmt, &tail);
            bool read = rc == SQLITE_OK && (stmt == nullptr || sqlite3_stmt_readonly(stmt));
            sqlite3_finalize(stmt);
            if (!read) return false;
            sql = tail;
        }
    }
    return true;
}

}  // namespace

struct RqliteApi::Job {
    RqliteOptions options;
    std::vector<SqlStatement> statements;
    bool read = false;
    std::optional<int64_t> min_index;  // level=none with freshness, on a replica
    std::string authorization;         // the client's credentials, for each sqlrep request
    Native native;
    Respond respond;
    Clock::time_point started = Clock::now();
    json::array results;
    std::size_t next = 0;  // run_each: the next statement
};

RqliteApi::RqliteApi(const NodeConfig& config, ReadPool& reads, Status status)
    : config_(config), reads_(reads), status_(std::move(status)) {}

RqliteApi::~RqliteApi() = default;

bool RqliteApi::serves(std::string_view path) {
    return path == "/db/execute" || path == "/db/query" || path == "/db/request" ||
           path == "/nodes";
}

void RqliteApi::serve(const HttpRequest& req, Role role, Native native, Respond respond) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    RqliteOptions options = parse_rqlite_options(target);
    if (path == "/nodes") {
        if (req.method() != http::verb::get)
            throw Error(ErrorKind::method_not_allowed, "/nodes answers GET only");
        return serve_nodes(options, std::move(respond));
    }

    // Everything that may throw runs before `respond` moves into the job: the router
    // answers a thrown Error through it.
    auto job = std::make_shared<Job>();
    job->options = options;
    if (auto it = req.find(http::field::authorization); it != req.end())
        job->authorization = std::string(it->value());
    bool get_query = path == "/db/query" && req.method() == http::verb::get;
    if (!get_query && req.method() != http::verb::post)
        throw Error(ErrorKind::method_not_allowed,
                    std::string(path) + " answers POST" + (path == "/db/query" ? " and GET" : ""));
    if (get_query) {
        if (options.q.empty()) throw Error(ErrorKind::bad_request, "GET /db/query needs q=SQL");
        for (const std::string& sql : options.q) job->statements.push_back({sql, nullptr});
    } else {
        job->statements = parse_rqlite_statements(req.body(), config_.request_limits());
    }
    if (path == "/db/execute" && role < Role::write)
        throw Error(ErrorKind::forbidden,
                    "this token has the read role: it may query, not execute; writes need "
                    "the write or admin role");
    if (options.level == RqliteLevel::none && options.freshness_ms) {
        // Freshness: read here, but only once this node has what the master had
        // committed when this node last heard from it (a replica's master_index).
        json::object status = status_();
        if (const json::value* m = status.if_contains("master_index"); m && m->is_int64())
            job->min_index = m->get_int64();
    }
    job->native = std::move(native);
    job->respond = std::move(respond);
    if (path == "/db/query") {
        job->read = true;
        return run(std::move(job));
    }
    if (path == "/db/execute") {
        if (options.queue) return enqueue(std::move(job));
        return run(std::move(job));
    }
    // /db/request: reads run as a query (here, at the level asked), anything else as one
    // write request whose reads answer with rows.
    reads_.post_client([this, job, role](Connection& conn) {
        bool read = false;
        try {
            read = all_reads(conn, job->statements);
        } catch (const std::exception& e) {
            spdlog::warn("classifying a /db/request failed: {}", e.what());
        }
        net::post(continuations_, [this, job, role, read] {
            job->read = read;
            if (!read && role < Role::write)
                return job->respond(
                    rqlite_text(403, "this token has the read role: it may query, not execute"));
            run(job);
        });
    });
}

void RqliteApi::call(const std::shared_ptr<Job>& job, std::size_t first, std::size_t count,
                     std::function<void(unsigned, json::value, double)> then) {
    json::array batch;
    for (std::size_t i = first; i < first + count; ++i) {
        json::object item{{"query", job->statements[i].sql}};
        if (!job->statements[i].params.is_null()) item["params"] = job->statements[i].params;
        batch.push_back(std::move(item));
    }
    json::object body{{"command", job->read ? "query" : "exec"}, {"batch", std::move(batch)}};
    if (job->read) {
        // none and auto read here (auto: rqlite's read-only nodes read locally, and on the
        // master a local read is strong); weak, linearizable and strong read on the master.
        RqliteLevel level = job->options.level;
        bool here = level == RqliteLevel::none || level == RqliteLevel::automatic;
        body["level"] = here ? "local" : "strong";
        if (here && job->min_index) body["min_index"] = *job->min_index;
    }
    HttpRequest req{http::verb::post, "/", 11};
    if (!job->authorization.empty()) req.set(http::field::authorization, job->authorization);
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(body);
    req.prepare_payload();
    auto start = Clock::now();
    job->native(std::move(req), [this, then = std::move(then), start](HttpResponse res) {
        double took = seconds_since(start);
        boost::system::error_code ec;
        json::value parsed = json::parse(res.body(), ec);
        unsigned status = res.result_int();
        net::post(continuations_, [then, status, parsed = std::move(parsed), took]() mutable {
            then(status, std::move(parsed), took);
        });
    });
}

namespace {

// sqlrep's per-statement results: "results" of an exec; of a query, "results" when it ran
// several statements, else its top-level columns and rows.
json::array statement_results(const json::value& body, bool read) {
    if (!body.is_object()) return {};
    const json::object& o = body.get_object();
    if (const json::value* r = o.if_contains("results"); r && r->is_array()) return r->get_array();
    if (!read) return {};
    json::object one;
    for (const char* key : {"columns", "types", "rows"})
        if (const json::value* v = o.if_contains(key)) one[key] = *v;
    return json::array{std::move(one)};
}

// The results of the statements a failed write ran before its error ("rolled_back").
const json::value* rolled_back(const json::value& body) {
    if (!body.is_object()) return nullptr;
    const json::value* r = body.get_object().if_contains("rolled_back");
    return r && r->is_array() ? r : nullptr;
}

}  // namespace

void RqliteApi::run(std::shared_ptr<Job> job) {
    std::size_t n = job->statements.size();
    // Without `transaction` rqlite runs each statement on its own. All of them succeeding
    // in one atomic request means the same, in one log entry; when one fails, they run
    // again one by one, so earlier ones stay applied and each error is reported where it
    // belongs.
    bool one_by_one_on_error = n > 1 && !job->options.transaction;
    call(job, 0, n,
         [this, job, one_by_one_on_error](unsigned status, json::value body, double took) {
             if (status == 200) {
                 for (const auto& r : statement_results(body, job->read))
                     job->results.push_back(rqlite_result(
                         r.as_object(), job->options,
                         job->options.timings ? std::optional<double>(took) : std::nullopt));
                 return finish(job);
             }
             if (!statement_failure(status)) return job->respond(request_failure(body, status));
             if (one_by_one_on_error) return run_each(job);
             // One statement, or a transaction: nothing was applied. As rqlite, the results of
             // the statements before the failing one (rolled back too), then its error.
             if (const json::value* earlier = rolled_back(body))
                 for (const auto& r : earlier->get_array())
                     if (r.is_object())
                         job->results.push_back(
                             rqlite_result(r.get_object(), job->options, std::nullopt));
             job->results.push_back(rqlite_error_result(error_text(body, status)));
             finish(job);
         });
}

void RqliteApi::run_each(std::shared_ptr<Job> job) {
    if (job->next == job->statements.size()) return finish(job);
    std::size_t i = job->next++;
    call(job, i, 1, [this, job](unsigned status, json::value body, double took) {
        if (status == 200) {
            for (const auto& r : statement_results(body, job->read))
                job->results.push_back(rqlite_result(
                    r.as_object(), job->options,
                    job->options.timings ? std::optional<double>(took) : std::nullopt));
        } else if (statement_failure(status)) {
            job->results.push_back(rqlite_error_result(error_text(body, status)));
        } else {
            return job->respond(request_failure(body, status));
        }
        run_each(job);
    });
}

void RqliteApi::finish(const std::shared_ptr<Job>& job) {
    json::object body{{"results", std::move(job->results)}};
    if (job->options.timings) body["time"] = seconds_since(job->started);
    job->respond(rqlite_json(200, body, job->options.pretty));
}

void RqliteApi::enqueue(std::shared_ptr<Job> job) {
    Respond client = std::move(job->respond);
    bool wait = job->options.wait;
    RqliteOptions options = job->options;
    auto task = [this, job](std::function<void()> done) {
        // Nobody waits for a queued request's answer: a failure is only logged, as rqlite
        // does.
        job->respond = [done](HttpResponse res) {
            boost::system::error_code ec;
            json::value body = json::parse(res.body(), ec);
            bool failed = res.result_int() != 200 || ec || !body.is_object();
            if (!failed)
                if (const json::value* results = body.get_object().if_contains("results"))
                    for (const auto& r : results->as_array())
                        failed = failed || (r.is_object() && r.get_object().contains("error"));
            if (failed)
                spdlog::warn("a queued rqlite write failed: HTTP {} {}", res.result_int(),
                             res.body());
            done();
        };
        net::post(continuations_, [this, job] { run(job); });
    };
    auto answer = [client, options](int64_t sequence) {
        json::object body{{"results", json::array{}}, {"sequence_number", sequence}};
        client(rqlite_json(200, body, options.pretty));
    };
    std::optional<int64_t> sequence =
        queue_.push(std::move(task), wait ? std::function<void(int64_t)>(answer) : nullptr);
    if (!sequence)
        return client(rqlite_text(503, "the write queue is full (" +
                                           std::to_string(kQueueCapacity) +
                                           " requests wait); retry later"));
    if (!wait) answer(*sequence);
}

void RqliteApi::serve_nodes(const RqliteOptions& options, Respond respond) {
    respond(rqlite_json(200, rqlite_nodes(config_, status_(), options.nodes_v2), options.pretty));
}

}  // namespace sqlrep
