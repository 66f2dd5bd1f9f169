#include "shared/metrics.hpp"

#include <fmt/format.h>

namespace sqlrep {

void ResponseCounter::record(unsigned status) {
    if (status < kMinStatus || status > kMaxStatus) return;
    counts_[status - kMinStatus].fetch_add(1, std::memory_order_relaxed);
}

uint64_t ResponseCounter::count(unsigned status) const {
    if (status < kMinStatus || status > kMaxStatus) return 0;
    return counts_[status - kMinStatus].load(std::memory_order_relaxed);
}

namespace {

// A label value: backslash, double quote and newline escaped, as the format asks.
std::string label(const json::value* v) {
    std::string text = v == nullptr     ? ""
                       : v->is_string() ? std::string(v->get_string())
                                        : json::serialize(*v);
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

// A sample's value: integers and booleans as numbers (booleans as 1 or 0).
std::string number(const json::value& v) {
    if (v.is_bool()) return v.get_bool() ? "1" : "0";
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    if (v.is_double()) return fmt::format("{}", v.get_double());
    return "NaN";
}

class Exposition {
  public:
    // Starts a metric family: its HELP and TYPE lines.
    void family(const char* name, const char* type, const char* help) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    void sample(const std::string& name_and_labels, const std::string& value) {
        out_ += name_and_labels + " " + value + "\n";
    }
    // One sample of the named /status field, when the node has it.
    void field(const json::object& status, const char* key, const char* name, const char* type,
               const char* help) {
        const json::value* v = status.if_contains(key);
        if (v == nullptr) return;
        family(name, type, help);
        sample(name, number(*v));
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

}  // namespace

std::string metrics_text(const json::object& status, const std::string& not_ready,
                         std::size_t in_flight, const ResponseCounter& responses,
                         const CommandCounter* commands) {
    Exposition e;
    e.family("sqlrep_node_info", "gauge", "This node's id, role and state; always 1.");
    e.sample(fmt::format("sqlrep_node_info{{node_id=\"{}\",role=\"{}\",state=\"{}\"}}",
                         label(status.if_contains("node_id")), label(status.if_contains("role")),
                         label(status.if_contains("state"))),
             "1");
    e.family("sqlrep_ready", "gauge", "1 when GET /ready answers 200, else 0.");
    e.sample("sqlrep_ready", not_ready.empty() ? "1" : "0");
    e.field(status, "term", "sqlrep_term", "gauge",
            "This node's current term (raised by every election or promotion).");
    e.field(status, "failovers", "sqlrep_failovers_total", "counter",
            "Times this node has seen the master role move to another node or term.");
    e.field(status, "applied_index", "sqlrep_applied_index", "gauge",
            "The last log index this node has applied.");
    // A replica's view of the master.
    e.field(status, "master_index", "sqlrep_master_index", "gauge",
            "The master's last index as this replica last heard it.");
    e.field(status, "lag", "sqlrep_lag_entries", "gauge",
            "Entries the master has that this replica has not applied yet.");
    e.field(status, "resyncs", "sqlrep_resyncs_total", "counter",
            "Snapshots this replica has installed since it started.");
    // The master's view of its replicas.
    e.field(status, "num_replicas", "sqlrep_replicas_configured", "gauge",
            "Replicas the master was started with.");
    const json::value* replicas = status.if_contains("replicas");
    if (replicas != nullptr && replicas->is_array() && !replicas->get_array().empty()) {
        struct Column {
            const char* key;
            const char* name;
            const char* help;
        };
        for (const Column& c : {Column{"acked_index", "sqlrep_replica_acked_index",
                                       "The last index the replica has acknowledged."},
                                Column{"lag", "sqlrep_replica_lag_entries",
                                       "Entries the replica has not acknowledged yet."},
                                Column{"connected", "sqlrep_replica_connected",
                                       "1 while the replica's stream is open."}}) {
            e.family(c.name, "gauge", c.help);
            for (const auto& r : replicas->get_array()) {
                const json::object& replica = r.as_object();
                if (const json::value* v = replica.if_contains(c.key))
                    e.sample(fmt::format("{}{{replica=\"{}\"}}", c.name,
                                         label(replica.if_contains("id"))),
                             number(*v));
            }
        }
    }
    // The master's change sinks (--cdc-webhook, --cdc-nats).
    const json::value* sinks = status.if_contains("sinks");
    if (sinks != nullptr && sinks->is_array() && !sinks->get_array().empty()) {
        struct Column {
            const char* key;
            const char* name;
            const char* type;
            const char* help;
        };
        for (const Column& c :
             {Column{"position", "sqlrep_sink_position", "gauge",
                     "The last index the sink has acknowledged."},
              Column{"persisted_position", "sqlrep_sink_persisted_position", "gauge",
                     "The sink position written to the log (where a new master resumes)."},
              Column{"lag", "sqlrep_sink_lag_entries", "gauge",
                     "Entries committed on the master that the sink has not acknowledged."},
              Column{"delivered", "sqlrep_sink_changes_delivered_total", "counter",
                     "Changes the sink acknowledged since this node became master."},
              Column{"failures", "sqlrep_sink_failures_total", "counter",
                     "Failed deliveries (each retried) since this node became master."},
              Column{"gaps", "sqlrep_sink_gaps_total", "counter",
                     "Times the log no longer held the entries after the sink's position "
                     "(changes lost to the sink; see its last_error in /status)."}}) {
            e.family(c.name, c.type, c.help);
            for (const auto& v : sinks->get_array()) {
                const json::object& sink = v.as_object();
                if (const json::value* x = sink.if_contains(c.key))
                    e.sample(
                        fmt::format("{}{{sink=\"{}\"}}", c.name, label(sink.if_contains("sink"))),
                        number(*x));
            }
        }
    }
    e.family("sqlrep_requests_in_flight", "gauge", "Requests received and not yet answered.");
    e.sample("sqlrep_requests_in_flight", std::to_string(in_flight));
    e.family("sqlrep_http_responses_total", "counter",
             "Answers sent since the node started, by HTTP status.");
    for (unsigned code = ResponseCounter::kMinStatus; code <= ResponseCounter::kMaxStatus; ++code)
        if (uint64_t n = responses.count(code))
            e.sample(fmt::format("sqlrep_http_responses_total{{code=\"{}\"}}", code),
                     std::to_string(n));
    if (commands != nullptr) {
        e.family("sqlrep_sql_requests_total", "counter",
                 "SQL requests received since the node started, by command.");
        e.sample("sqlrep_sql_requests_total{command=\"query\"}",
                 std::to_string(commands->queries.load(std::memory_order_relaxed)));
        e.sample("sqlrep_sql_requests_total{command=\"exec\"}",
                 std::to_string(commands->execs.load(std::memory_order_relaxed)));
    }
    return e.take();
}

}  // namespace sqlrep
