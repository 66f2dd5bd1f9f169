// libFuzzer target: the body of POST / through parse_client_request. Invariants, for any
// input:
//   - the parser returns a ClientRequest or throws Error(bad_request) (a 4xx), nothing else;
//   - an accepted request keeps the parser's promises: 1..max_batch statements, each SQL
//     text non-empty, within max_sql_bytes and valid UTF-8, params null/array/object,
//     "ack" only on exec, min_index >= 0;
//   - tighter limits only reject more: accepted under tight limits means accepted under
//     the defaults, with the same result;
//   - every parameter an accepted request binds is finite, and every real in it prints as
//     text that reads back as the same double, bit for bit (what a response does with it).
// (An accepted write no longer travels as its statements: the master runs it and entries
// carry its effects, so there is no statement codec left to round-trip here.)

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "shared/client_request.hpp"
#include "shared/json_number.hpp"

using namespace sqlrep;
using namespace sqlrep::fuzz;

namespace {

// The reals of accepted params: each a value the executor binds is finite (the parser
// refuses 1e400), and every finite one prints as text that reads back as itself.
void check_reals(const json::value& v, bool bound) {
    if (v.is_array())
        for (const auto& item : v.get_array()) check_reals(item, false);
    if (v.is_object())
        for (const auto& item : v.get_object()) check_reals(item.value(), false);
    if (!v.is_double()) return;
    const double d = v.get_double();
    const std::string text = json::serialize(v);
    if (bound) check(std::isfinite(d), "accepted a parameter that is not finite", text);
    if (!std::isfinite(d)) return;
    boost::system::error_code ec;
    const json::value back = parse_json_exact(text, ec);
    const double again = back.is_double() ? back.get_double() : 0.0;
    check(!ec && back.is_double() && std::memcmp(&d, &again, sizeof d) == 0,
          "a real does not read back as itself", text);
}

void check_params_reals(const json::value& params) {
    if (params.is_array())
        for (const auto& v : params.get_array()) check_reals(v, true);
    if (params.is_object())
        for (const auto& named : params.get_object()) check_reals(named.value(), true);
}

void check_accepted(const ClientRequest& req, const RequestLimits& limits) {
    check(!req.statements.empty() && req.statements.size() <= limits.max_batch,
          "statement count outside 1..max_batch", std::to_string(req.statements.size()));
    for (const auto& s : req.statements) {
        check(!s.sql.empty(), "accepted an empty query");
        check(s.sql.size() <= limits.max_sql_bytes, "accepted a query over max_sql_bytes");
        check(valid_utf8(s.sql), "accepted a query that is not valid UTF-8");
        check(s.params.is_null() || s.params.is_array() || s.params.is_object(),
              "accepted params that are neither null, an array nor an object");
        check_params_reals(s.params);
    }
    check(!req.ack || req.command == ClientRequest::Command::exec, "accepted ack on a query");
    if (req.ack) check(parse_ack_mode(ack_mode_name(*req.ack)) == req.ack, "ack name round trip");
    check(req.min_index >= 0, "accepted a negative min_index");
}

bool same_request(const ClientRequest& a, const ClientRequest& b) {
    return a.command == b.command && identical(a.statements, b.statements) && a.ack == b.ack &&
           a.min_index == b.min_index && a.level == b.level &&
           a.claims_replication == b.claims_replication;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string body = as_text(data, size);

    const RequestLimits defaults;
    std::optional<ClientRequest> accepted;
    completes_or_rejects("parse_client_request",
                         [&] { accepted = parse_client_request(body, defaults); });

    // Small enough that short inputs reach every limit.
    RequestLimits tight;
    tight.max_sql_bytes = 16;
    tight.max_batch = 3;
    tight.max_json_depth = 4;
    std::optional<ClientRequest> accepted_tight;
    completes_or_rejects("parse_client_request (tight limits)",
                         [&] { accepted_tight = parse_client_request(body, tight); });
    if (accepted_tight) {
        check_accepted(*accepted_tight, tight);
        check(accepted.has_value(), "accepted under tight limits but rejected under defaults");
        check(same_request(*accepted, *accepted_tight), "the limits changed an accepted request");
    }

    if (accepted) {
        check_accepted(*accepted, defaults);
    }
    return 0;
}
