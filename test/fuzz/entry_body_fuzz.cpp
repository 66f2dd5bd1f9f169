// libFuzzer target: an entry body (the effects of one replicated write) as a replica's
// EffectApplier walks it with EffectReader. Invariants, for any input:
//   - decoding returns effects or throws Error(bad_request), nothing else, and never reads
//     past the body's end (ASan sees the input's exact bytes);
//   - a body that decodes is exactly the encoding of its effects (the format has no slack):
//     EffectWriter, given each decoded effect's fields, writes the body back byte for byte;
//   - each effect's raw bytes lie inside the body, back to back, and cover all of it;
//   - every effect can be described (the divergence report) without crashing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "shared/effects.hpp"

using namespace sqlrep;
using namespace sqlrep::fuzz;

namespace {

template <typename Int>
void put_le(std::string& out, Int value) {
    for (std::size_t i = 0; i < sizeof(Int); ++i)
        out.push_back(static_cast<char>(static_cast<uint64_t>(value) >> (8 * i)));
}

// One decoded effect written again from its fields. EffectWriter has no sequence row from
// decoded values (the recorder reads SQLite's), so that one is spelled out here, as
// effects.hpp's format has it: kind, row count (u32), then rowid (i64), name and seq.
std::string encode(const Effect& e) {
    EffectWriter w;
    switch (e.kind) {
        case EffectKind::insert:
        case EffectKind::update:
        case EffectKind::remove: {
            const std::vector<Value>& any =
                e.kind == EffectKind::insert ? e.new_values : e.old_values;
            w.row_change(
                e.kind, e.table, e.old_rowid, e.new_rowid, static_cast<int>(any.size()),
                [&](int i) { return e.old_values[static_cast<std::size_t>(i)]; },
                [&](int i) { return e.new_values[static_cast<std::size_t>(i)]; });
            return w.take();
        }
        case EffectKind::schema:
            w.schema(e.sql);
            return w.take();
        case EffectKind::sequence: {
            std::string out(1, static_cast<char>(EffectKind::sequence));
            put_le(out, static_cast<uint32_t>(e.sequence.size()));
            for (const SequenceRow& row : e.sequence) {
                put_le(out, row.rowid);
                EffectWriter values;
                values.put_value(row.name);
                values.put_value(row.seq);
                out += values.bytes();
            }
            return out;
        }
        case EffectKind::restore:
            w.restore(e.digest);
            return w.take();
    }
    fail("decoded an effect of no known kind");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    // A view of the input's own bytes: any read past its end is a heap overflow for ASan.
    const std::string_view body(reinterpret_cast<const char*>(data), size);

    std::vector<Effect> effects;
    if (!completes_or_rejects("decode_effects", [&] { effects = decode_effects(body); })) return 0;

    std::string again;
    const char* next = body.data();
    for (const Effect& e : effects) {
        check(e.raw.data() == next, "an effect's raw bytes do not follow the previous one's");
        next += e.raw.size();
        check(e.is_row_change() == !e.table.empty(), "a row change without a table");
        if (e.is_row_change()) {
            std::size_t columns =
                e.kind == EffectKind::insert ? e.new_values.size() : e.old_values.size();
            check(columns > 0, "a row change without columns");
            if (e.kind == EffectKind::update)
                check(e.old_values.size() == e.new_values.size(), "an update of two widths");
        }
        const std::string one = encode(e);
        check(one == e.raw, "an effect is not the encoding of its fields", std::string(e.raw));
        again += one;
        (void)describe(e);
    }
    check(next == body.data() + body.size(), "the effects do not cover the body");
    check(again == body, "a body is not the encoding of its effects", std::string(body));
    return 0;
}
