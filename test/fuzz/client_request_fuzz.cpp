// libFuzzer target: the body of POST / through parse_client_request, then the path an
// accepted write takes into the log (encode_statements / decode_statements) and onto the
// replication stream. Invariants, for any input:
//   - the parser returns a ClientRequest or throws Error(bad_request) (a 4xx), nothing else;
//   - an accepted request keeps the parser's promises: 1..max_batch statements, each SQL
//     text non-empty, within max_sql_bytes and valid UTF-8, params null/array/object,
//     "ack" only on exec, min_index >= 0;
//   - tighter limits only reject more: accepted under tight limits means accepted under
//     the defaults, with the same result;
//   - an accepted request whose params the executor could bind comes back out of an entry
//     body bit for bit (any other only fails with bad_request), and that body crosses the
//     stream unchanged.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "shared/client_request.hpp"
#include "shared/log_entry.hpp"
#include "shared/stream_messages.hpp"

using namespace sqlrep;
using namespace sqlrep::fuzz;

namespace {

void check_accepted(const ClientRequest& req, const RequestLimits& limits) {
    check(!req.statements.empty() && req.statements.size() <= limits.max_batch,
          "statement count outside 1..max_batch", std::to_string(req.statements.size()));
    for (const auto& s : req.statements) {
        check(!s.sql.empty(), "accepted an empty query");
        check(s.sql.size() <= limits.max_sql_bytes, "accepted a query over max_sql_bytes");
        check(valid_utf8(s.sql), "accepted a query that is not valid UTF-8");
        check(s.params.is_null() || s.params.is_array() || s.params.is_object(),
              "accepted params that are neither null, an array nor an object");
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

// What the master's sequencer and a replica's applier do with an accepted write.
void check_log_path(const std::vector<SqlStatement>& statements) {
    const std::string body = encode_statements(statements);
    std::vector<SqlStatement> back;
    bool decoded = completes_or_rejects("decode_statements(encode_statements(request))",
                                        [&] { back = decode_statements(body); });
    if (bindable(statements)) {
        check(decoded, "an entry body of bindable statements does not decode", body);
        check(identical(back, statements), "statements changed through an entry body", body);
    }

    Entry entry;
    entry.index = 1;
    entry.term = 1;
    entry.body = body;
    entry.hash = chain_hash(Hash{}, entry);
    std::vector<Entry> sent = decode_stream_entries(encode_stream_entries({entry}));
    check(sent.size() == 1 && sent[0].body == body && sent[0].hash == entry.hash,
          "an entry body changed on the stream", body);
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
        check_log_path(accepted->statements);
    }
    return 0;
}
