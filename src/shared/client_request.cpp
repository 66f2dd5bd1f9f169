#include "shared/client_request.hpp"

#include <cmath>

#include "shared/error.hpp"
#include "shared/json_number.hpp"
#include "shared/log_entry.hpp"

namespace sqlrep {
namespace {

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorKind::bad_request, message); }

SqlStatement parse_statement(const json::object& o, const RequestLimits& limits,
                             const std::string& where) {
    SqlStatement s;
    const json::value* query = o.if_contains("query");
    if (query == nullptr) bad(where + "\"query\" is missing");
    if (!query->is_string()) bad(where + "\"query\" must be a string");
    if (query->get_string().empty()) bad(where + "\"query\" is empty");
    if (query->get_string().size() > limits.max_sql_bytes)
        bad(where + "\"query\" is longer than " + std::to_string(limits.max_sql_bytes) + " bytes");
    s.sql = std::string(query->get_string());
    if (const json::value* params = o.if_contains("params")) {
        if (!params->is_array() && !params->is_object() && !params->is_null())
            bad(where + "\"params\" must be an array or an object");
        // A number beyond double's range (1e400) reads as infinity, which SQLite would
        // store and JSON cannot show (docs/API.md): refuse it rather than store a surprise.
        // Below the smallest subnormal a number is 0, which is what strtod says it is.
        auto finite = [](const json::value& v) {
            return !v.is_double() || std::isfinite(v.get_double());
        };
        bool all_finite = true;
        if (params->is_array())
            for (const auto& v : params->get_array()) all_finite = all_finite && finite(v);
        if (params->is_object())
            for (const auto& kv : params->get_object())
                all_finite = all_finite && finite(kv.value());
        if (!all_finite)
            bad(where +
                "a number in \"params\" is too large for a double (JSON has no "
                "infinity)");
        s.params = *params;
    }
    return s;
}

}  // namespace

const char* exec_outcome_name(ExecOutcome outcome) {
    switch (outcome) {
        case ExecOutcome::not_applied:
            return "not_applied";
        case ExecOutcome::committed:
            return "committed";
        case ExecOutcome::unknown:
            return "unknown";
    }
    return "unknown";
}

std::optional<ExecOutcome> parse_exec_outcome(std::string_view name) {
    for (ExecOutcome o : {ExecOutcome::not_applied, ExecOutcome::committed, ExecOutcome::unknown})
        if (name == exec_outcome_name(o)) return o;
    return std::nullopt;
}

HttpResponse with_exec_outcome(HttpResponse res, ExecOutcome outcome, int64_t index) {
    boost::system::error_code ec;
    json::value body = json::parse(res.body(), ec);
    if (ec || !body.is_object()) return res;
    body.get_object()["outcome"] = exec_outcome_name(outcome);
    if (index > 0) body.get_object()["index"] = index;
    res.body() = json::serialize(body);
    res.body().push_back('\n');
    res.prepare_payload();
    return res;
}

HttpResponse exec_error_response(const Error& error, ExecOutcome outcome, int64_t index) {
    return with_exec_outcome(error_response(error), outcome, index);
}

HttpResponse exec_error_response(ErrorKind kind, const std::string& message, ExecOutcome outcome,
                                 int64_t index) {
    return with_exec_outcome(error_response(kind, message), outcome, index);
}

std::optional<AckMode> parse_ack_mode(const std::string& text) {
    if (text == "master") return AckMode::master;
    if (text == "quorum") return AckMode::quorum;
    if (text == "all") return AckMode::all;
    return std::nullopt;
}

const char* ack_mode_name(AckMode mode) {
    switch (mode) {
        case AckMode::master:
            return "master";
        case AckMode::quorum:
            return "quorum";
        case AckMode::all:
            return "all";
    }
    return "quorum";
}

ClientRequest parse_client_request(const std::string& body, const RequestLimits& limits) {
    json::parse_options options;
    options.max_depth = limits.max_json_depth;
    boost::system::error_code ec;
    // Reals read exactly: a client's 0.1 is stored as the double nearest 0.1 on every node.
    json::value parsed = parse_json_exact(body, ec, {}, options);
    if (ec == json::error::too_deep)
        bad("the body nests arrays and objects deeper than " +
            std::to_string(limits.max_json_depth) + " levels");
    if (ec) bad("the body is not valid JSON: " + ec.message());
    if (!parsed.is_object()) bad("the body must be a JSON object");
    const json::object& o = parsed.get_object();

    ClientRequest req;
    const json::value* command = o.if_contains("command");
    if (command == nullptr || !command->is_string())
        bad("\"command\" must be \"exec\" or \"query\"");
    if (command->get_string() == "exec")
        req.command = ClientRequest::Command::exec;
    else if (command->get_string() == "query")
        req.command = ClientRequest::Command::query;
    else
        bad("unknown command \"" + std::string(command->get_string()) +
            "\": use \"exec\" or \"query\"");

    const json::value* batch = o.if_contains("batch");
    if (batch != nullptr) {
        if (o.contains("query")) bad("give either \"query\" or \"batch\", not both");
        if (!batch->is_array() || batch->get_array().empty())
            bad("\"batch\" must be a non-empty array of {\"query\", \"params\"}");
        if (batch->get_array().size() > limits.max_batch)
            bad("\"batch\" has more than " + std::to_string(limits.max_batch) + " statements");
        std::size_t i = 0;
        for (const auto& item : batch->get_array()) {
            std::string where = "batch[" + std::to_string(i++) + "]: ";
            if (!item.is_object()) bad(where + "must be an object");
            req.statements.push_back(parse_statement(item.get_object(), limits, where));
        }
    } else {
        req.statements.push_back(parse_statement(o, limits, ""));
    }

    if (const json::value* ack = o.if_contains("ack")) {
        if (req.command != ClientRequest::Command::exec) bad("\"ack\" applies to exec only");
        if (!ack->is_string()) bad("\"ack\" must be \"master\", \"quorum\" or \"all\"");
        req.ack = parse_ack_mode(std::string(ack->get_string()));
        if (!req.ack) bad("\"ack\" must be \"master\", \"quorum\" or \"all\"");
    }
    if (const json::value* id = o.if_contains("request_id")) {
        if (req.command != ClientRequest::Command::exec) bad("\"request_id\" applies to exec only");
        if (!id->is_string() || !valid_request_id(id->get_string()))
            bad("\"request_id\" must be a string of 1 to " + std::to_string(kMaxRequestIdBytes) +
                " printable ASCII characters");
        req.request_id = std::string(id->get_string());
    }
    if (const json::value* min_index = o.if_contains("min_index")) {
        if (!min_index->is_int64() || min_index->get_int64() < 0)
            bad("\"min_index\" must be a non-negative integer");
        req.min_index = min_index->get_int64();
    }
    if (const json::value* level = o.if_contains("level")) {
        if (!level->is_string()) bad("\"level\" must be \"local\" or \"strong\"");
        if (level->get_string() == "local")
            req.level = ReadLevel::local;
        else if (level->get_string() == "strong")
            req.level = ReadLevel::strong;
        else
            bad("\"level\" must be \"local\" or \"strong\"");
    }
    req.claims_replication = o.contains("replicated") || o.contains("forwarded");
    if (const json::value* is_master = o.if_contains("is_master");
        is_master && !is_master->is_bool())
        bad("\"is_master\" must be a boolean (it is accepted and ignored)");
    return req;
}

}  // namespace sqlrep
