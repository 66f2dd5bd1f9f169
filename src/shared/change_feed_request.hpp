#pragma once
// What a consumer of GET /changes asks for, read from the request target and the
// Last-Event-ID header (docs/API.md, "Change feed"):
//   from=INDEX       the first index wanted (default: 1, all the log holds)
//   Last-Event-ID: N what an EventSource sends on reconnect, to the same URL: the last
//                    entry it received in full. The feed goes on at N + 1, whatever `from`
//                    and `snapshot` say (the snapshot was already taken).
//   tables=a,b       only row changes of these tables (schema events always come)
//   snapshot=true    first every current row of the tables as of one index
// Pure functions, any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sqlrep {

struct ChangeFeedRequest {
    int64_t from = 1;
    std::vector<std::string> tables;  // empty: every table
    bool snapshot = false;

    // Whether row changes of `table` are wanted (SQLite compares names without case).
    bool wants(std::string_view table) const;
};

// Throws Error(bad_request) for an unknown parameter, an index that is not a positive
// integer, an empty table name or a snapshot value other than true/false/1/0.
ChangeFeedRequest parse_change_feed_request(std::string_view target,
                                            std::optional<std::string_view> last_event_id);

}  // namespace sqlrep
