// libFuzzer target: an entry body (the statements of one replicated write) as a replica's
// applier decodes it with decode_statements. Invariants, for any input:
//   - decode returns statements or throws Error(bad_request), nothing else;
//   - statements the executor could bind survive encode / decode bit for bit (reals
//     included: they travel as hex-float text) and their encoding is a fixed point;
//   - any other decoded statements re-encode without crashing and decode again or fail
//     with bad_request only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "shared/log_entry.hpp"

using namespace sqlrep;
using namespace sqlrep::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string body = as_text(data, size);

    std::vector<SqlStatement> statements;
    if (!completes_or_rejects("decode_statements", [&] { statements = decode_statements(body); }))
        return 0;

    const std::string encoded = encode_statements(statements);
    std::vector<SqlStatement> back;
    bool decoded = completes_or_rejects("decode_statements(encode_statements(statements))",
                                        [&] { back = decode_statements(encoded); });
    if (bindable(statements)) {
        check(decoded, "re-encoded bindable statements do not decode", encoded);
        check(identical(back, statements), "statements changed through encode / decode", encoded);
        check(encode_statements(back) == encoded, "an entry body is not a fixed point", encoded);
    }
    return 0;
}
