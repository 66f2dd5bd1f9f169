// The entry body codec (effects.hpp): every value and effect round-trips exactly, and
// every malformed body is rejected with bad_request without reading past its end.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "shared/effects.hpp"
#include "test_support.hpp"

using namespace sqlrep;
using namespace sqlrep::test;

namespace {

Value null_value() { return Value{}; }
Value integer(int64_t v) {
    Value out;
    out.type = Value::Type::integer;
    out.integer = v;
    return out;
}
Value real_bits(uint64_t bits) {
    Value out;
    out.type = Value::Type::real;
    std::memcpy(&out.real, &bits, sizeof bits);
    return out;
}
Value real(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return real_bits(bits);
}
Value text(std::string_view bytes) {
    Value out;
    out.type = Value::Type::text;
    out.bytes = bytes;
    return out;
}
Value blob(std::string_view bytes) {
    Value out;
    out.type = Value::Type::blob;
    out.bytes = bytes;
    return out;
}

uint64_t bits_of(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
}

// Same type and the same bits (reals compared as bit patterns, NaN payloads included).
bool same_value(const Value& a, const Value& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
        case Value::Type::null:
            return true;
        case Value::Type::integer:
            return a.integer == b.integer;
        case Value::Type::real:
            return bits_of(a.real) == bits_of(b.real);
        case Value::Type::text:
        case Value::Type::blob:
            return a.bytes == b.bytes;
    }
    return false;
}

std::string show(const Value& v) {
    switch (v.type) {
        case Value::Type::null:
            return "null";
        case Value::Type::integer:
            return "integer " + std::to_string(v.integer);
        case Value::Type::real:
            return "real bits " + std::to_string(bits_of(v.real));
        case Value::Type::text:
            return "text of " + std::to_string(v.bytes.size()) + " bytes";
        case Value::Type::blob:
            return "blob of " + std::to_string(v.bytes.size()) + " bytes";
    }
    return "?";
}

void check_same_values(const std::vector<Value>& got, const std::vector<Value>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("column " << i << ": got " << show(got[i]) << ", want " << show(want[i]));
        CHECK(same_value(got[i], want[i]));
    }
}

// A row change whose values come from vectors of Value.
void put_row_change(EffectWriter& w, EffectKind kind, std::string_view table, int64_t old_rowid,
                    int64_t new_rowid, const std::vector<Value>& old_values,
                    const std::vector<Value>& new_values) {
    int columns =
        static_cast<int>(kind == EffectKind::insert ? new_values.size() : old_values.size());
    w.row_change(
        kind, table, old_rowid, new_rowid, columns,
        [&](int i) { return old_values[static_cast<std::size_t>(i)]; },
        [&](int i) { return new_values[static_cast<std::size_t>(i)]; });
}

// SQLite values made by SQLite itself (what the recorder hands the writer): the columns of
// one `SELECT ?, ?, ...` row, valid until the next call.
class SqliteValues {
  public:
    SqliteValues() { REQUIRE(sqlite3_open(":memory:", &db_) == SQLITE_OK); }
    ~SqliteValues() {
        sqlite3_finalize(stmt_);
        sqlite3_close(db_);
    }
    SqliteValues(const SqliteValues&) = delete;
    SqliteValues& operator=(const SqliteValues&) = delete;

    // Binds `sql`'s parameters with `bind` and steps to its one row.
    template <typename Bind>
    void select(const std::string& sql, Bind bind) {
        sqlite3_finalize(stmt_);
        stmt_ = nullptr;
        REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt_, nullptr) == SQLITE_OK);
        bind(stmt_);
        REQUIRE(sqlite3_step(stmt_) == SQLITE_ROW);
    }
    sqlite3_value* column(int i) { return sqlite3_column_value(stmt_, i); }

  private:
    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

// One body with an effect of every kind, and where each effect ends in it.
struct SampleBody {
    std::string body;
    std::vector<std::size_t> ends;

    SampleBody() {
        EffectWriter w;
        auto mark = [&] { ends.push_back(w.size()); };
        w.schema("CREATE TABLE t(a, b)");
        mark();
        put_row_change(w, EffectKind::insert, "t", 0, 1, {},
                       {integer(7), text(std::string_view("x\0y", 3))});
        mark();
        put_row_change(w, EffectKind::update, "t", 1, 2, {integer(7), real(0.5)},
                       {blob("\x01\x02"), null_value()});
        mark();
        put_row_change(w, EffectKind::remove, "t", 2, 0, {blob("\x01\x02"), null_value()}, {});
        mark();
        SqliteValues values;
        values.select("SELECT 't', 41", [](sqlite3_stmt*) {});
        w.begin_sequence();
        w.sequence_row(3, values.column(0), values.column(1));
        mark();
        body = w.take();
    }
};

}  // namespace

// --- round trips ---------------------------------------------------------------------------

TEST_CASE("every value type round-trips through a row change bit for bit", "[shared]") {
    std::string bytes_0_255;
    for (int i = 0; i < 256; ++i) bytes_0_255.push_back(static_cast<char>(i));
    const std::vector<Value> values{
        null_value(),
        integer(0),
        integer(-1),
        integer(std::numeric_limits<int64_t>::min()),
        integer(std::numeric_limits<int64_t>::max()),
        real(0.0),
        real(-0.0),
        real(0.1),
        real(std::numeric_limits<double>::max()),
        real(std::numeric_limits<double>::infinity()),
        real(-std::numeric_limits<double>::infinity()),
        real_bits(0x0000000000000001),  // the smallest subnormal
        real_bits(0x000fffffffffffff),  // the largest subnormal
        real_bits(0x8000000000000001),  // a negative subnormal
        real_bits(0x7ff8000000000123),  // a quiet NaN with a payload
        real_bits(0x7ff0000000000001),  // a signalling NaN
        real_bits(0xfff8000000000000),  // a negative NaN
        text(""),
        text(std::string_view("a\0b\0", 4)),
        text("\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80"),
        blob(""),
        blob(bytes_0_255),
    };
    EffectWriter w;
    put_row_change(w, EffectKind::insert, "t", 0, 9, {}, values);
    const std::string body = w.take();
    std::vector<Effect> effects = decode_effects(body);
    REQUIRE(effects.size() == 1);
    CHECK(effects[0].kind == EffectKind::insert);
    check_same_values(effects[0].new_values, values);
}

TEST_CASE("values read from SQLite keep their type and bits in an effect", "[shared]") {
    SqliteValues sqlite;
    const double negative_zero = -0.0, subnormal = std::numeric_limits<double>::denorm_min();
    const std::string nul_text("a\0b", 3), empty;
    sqlite.select("SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9", [&](sqlite3_stmt* s) {
        sqlite3_bind_null(s, 1);
        sqlite3_bind_int64(s, 2, std::numeric_limits<int64_t>::min());
        sqlite3_bind_double(s, 3, negative_zero);
        sqlite3_bind_double(s, 4, subnormal);
        sqlite3_bind_text(s, 5, nul_text.data(), 3, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, empty.data(), 0, SQLITE_STATIC);
        sqlite3_bind_blob(s, 7, nul_text.data(), 3, SQLITE_STATIC);
        sqlite3_bind_zeroblob(s, 8, 0);
        sqlite3_bind_int64(s, 9, std::numeric_limits<int64_t>::max());
    });
    EffectWriter w;
    w.row_change(
        EffectKind::insert, "t", 0, 1, 10, [](int) { return static_cast<sqlite3_value*>(nullptr); },
        [&](int i) { return i < 9 ? sqlite.column(i) : nullptr; });  // null pointer: NULL
    std::string body = w.take();
    std::vector<Effect> effects = decode_effects(body);
    REQUIRE(effects.size() == 1);
    check_same_values(
        effects[0].new_values,
        {null_value(), integer(std::numeric_limits<int64_t>::min()), real(negative_zero),
         real(subnormal), text(nul_text), text(""), blob(nul_text), blob(""),
         integer(std::numeric_limits<int64_t>::max()), null_value()});
}

TEST_CASE("an insert carries its new row, a delete its old row, an update both", "[shared]") {
    EffectWriter w;
    put_row_change(w, EffectKind::insert, "ins", 0, 5, {}, {integer(1), text("new")});
    put_row_change(w, EffectKind::update, "upd", 5, -6, {integer(1), text("old")},
                   {integer(2), text("new")});
    put_row_change(w, EffectKind::remove, "del", std::numeric_limits<int64_t>::max(), 0,
                   {integer(3)}, {});
    std::string body = w.take();
    std::vector<Effect> e = decode_effects(body);
    REQUIRE(e.size() == 3);

    CHECK(e[0].kind == EffectKind::insert);
    CHECK(e[0].is_row_change());
    CHECK(e[0].table == "ins");
    CHECK(e[0].new_rowid == 5);
    CHECK(e[0].old_values.empty());
    check_same_values(e[0].new_values, {integer(1), text("new")});

    CHECK(e[1].kind == EffectKind::update);
    CHECK(e[1].table == "upd");
    CHECK(e[1].old_rowid == 5);
    CHECK(e[1].new_rowid == -6);
    check_same_values(e[1].old_values, {integer(1), text("old")});
    check_same_values(e[1].new_values, {integer(2), text("new")});

    CHECK(e[2].kind == EffectKind::remove);
    CHECK(e[2].table == "del");
    CHECK(e[2].old_rowid == std::numeric_limits<int64_t>::max());
    check_same_values(e[2].old_values, {integer(3)});
    CHECK(e[2].new_values.empty());
}

TEST_CASE("a schema statement round-trips as its text", "[shared]") {
    const std::string sql = "CREATE TABLE \"we\"\"ird\"(a TEXT DEFAULT 'x\ny', b)";
    EffectWriter w;
    w.schema(sql);
    std::string body = w.take();
    std::vector<Effect> e = decode_effects(body);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == EffectKind::schema);
    CHECK_FALSE(e[0].is_row_change());
    CHECK(e[0].sql == sql);
    CHECK(e[0].table.empty());
}

TEST_CASE("sqlite_sequence travels whole, an empty one included", "[shared]") {
    SqliteValues sqlite;
    EffectWriter w;
    w.begin_sequence();  // no rows: every AUTOINCREMENT table is gone
    w.begin_sequence();
    sqlite.select("SELECT 'a', 9223372036854775807, 'b', 1", [](sqlite3_stmt*) {});
    w.sequence_row(1, sqlite.column(0), sqlite.column(1));
    w.sequence_row(7, sqlite.column(2), sqlite.column(3));
    w.begin_sequence();
    w.sequence_row(1, nullptr, nullptr);
    std::string body = w.take();
    std::vector<Effect> e = decode_effects(body);
    REQUIRE(e.size() == 3);
    CHECK(e[0].kind == EffectKind::sequence);
    CHECK(e[0].sequence.empty());
    REQUIRE(e[1].sequence.size() == 2);
    CHECK(e[1].sequence[0].rowid == 1);
    CHECK(same_value(e[1].sequence[0].name, text("a")));
    CHECK(same_value(e[1].sequence[0].seq, integer(std::numeric_limits<int64_t>::max())));
    CHECK(e[1].sequence[1].rowid == 7);
    CHECK(same_value(e[1].sequence[1].name, text("b")));
    CHECK(same_value(e[1].sequence[1].seq, integer(1)));
    REQUIRE(e[2].sequence.size() == 1);
    CHECK(same_value(e[2].sequence[0].name, null_value()));
}

TEST_CASE("each effect's raw bytes are its encoding and re-append to the same body", "[shared]") {
    SampleBody sample;
    std::vector<Effect> effects = decode_effects(sample.body);
    REQUIRE(effects.size() == sample.ends.size());
    EffectWriter again;
    std::size_t start = 0;
    for (std::size_t i = 0; i < effects.size(); ++i) {
        INFO("effect " << i);
        CHECK(effects[i].raw.data() == sample.body.data() + start);
        CHECK(effects[i].raw.size() == sample.ends[i] - start);
        again.append_raw(effects[i].raw);
        start = sample.ends[i];
    }
    CHECK(again.bytes() == sample.body);
}

TEST_CASE("the reader reuses one effect and leaves nothing of the previous one in it", "[shared]") {
    SampleBody sample;
    EffectReader reader(sample.body);
    Effect effect;
    std::vector<EffectKind> kinds;
    while (reader.next(effect)) {
        kinds.push_back(effect.kind);
        if (effect.kind == EffectKind::schema || effect.kind == EffectKind::sequence) {
            CHECK(effect.table.empty());
            CHECK(effect.old_values.empty());
            CHECK(effect.new_values.empty());
        }
        if (effect.kind == EffectKind::remove) CHECK(effect.new_values.empty());
        if (effect.kind != EffectKind::sequence) CHECK(effect.sequence.empty());
    }
    CHECK(kinds == std::vector<EffectKind>{EffectKind::schema, EffectKind::insert,
                                           EffectKind::update, EffectKind::remove,
                                           EffectKind::sequence});
    CHECK_FALSE(reader.next(effect));  // stays at the end
}

TEST_CASE("an empty body holds no effects", "[shared]") {
    CHECK(decode_effects("").empty());
    EffectWriter w;
    CHECK(w.bytes().empty());
    CHECK(decode_effects(w.bytes()).empty());
}

TEST_CASE("the writer truncates and clears back to what it held", "[shared]") {
    EffectWriter w;
    w.schema("CREATE TABLE a(v)");
    std::size_t mark = w.size();
    w.schema("CREATE TABLE b(v)");
    w.truncate(mark);
    std::vector<Effect> e = decode_effects(w.bytes());
    REQUIRE(e.size() == 1);
    CHECK(e[0].sql == "CREATE TABLE a(v)");
    w.clear();
    CHECK(w.size() == 0);
}

TEST_CASE("describe names an effect's kind, table and rowid", "[shared]") {
    EffectWriter w;
    put_row_change(w, EffectKind::insert, "ti", 0, 11, {}, {integer(1)});
    put_row_change(w, EffectKind::update, "tu", 12, 13, {integer(1)}, {integer(2)});
    put_row_change(w, EffectKind::remove, "td", 14, 0, {integer(1)}, {});
    w.schema("CREATE INDEX i ON t(v)");
    w.begin_sequence();
    std::string body = w.take();
    std::vector<Effect> e = decode_effects(body);
    REQUIRE(e.size() == 5);
    CHECK(describe(e[0]) == "insert into ti rowid 11");
    CHECK(describe(e[1]) == "update of tu rowid 12");
    CHECK(describe(e[2]) == "delete from td rowid 14");
    CHECK(describe(e[3]) == "schema change: CREATE INDEX i ON t(v)");
    CHECK(describe(e[4]) == "sqlite_sequence update");
}

// --- malformed bodies ----------------------------------------------------------------------

TEST_CASE("a body cut anywhere inside an effect is rejected without reading past the cut",
          "[shared]") {
    SampleBody sample;
    // Each cut is a view into the whole body: a reader that read past the cut would find
    // the rest of a valid effect there and succeed.
    std::size_t effects_before = 0;
    for (std::size_t size = 1; size < sample.body.size(); ++size) {
        INFO("cut at " << size << " of " << sample.body.size());
        std::string_view cut(sample.body.data(), size);
        if (effects_before < sample.ends.size() && size == sample.ends[effects_before]) {
            CHECK(decode_effects(cut).size() == ++effects_before);
        } else {
            REQUIRE_THROWS_KIND(decode_effects(cut), ErrorKind::bad_request);
        }
    }
}

TEST_CASE("an unknown effect kind is rejected", "[shared]") {
    auto kind = GENERATE(as<char>{}, '\0', 'i', 'X', 'Z', '\xff');
    INFO("kind byte " << int(static_cast<unsigned char>(kind)));
    SampleBody sample;
    std::string body = sample.body;
    body[0] = kind;
    REQUIRE_THROWS_KIND(decode_effects(body), ErrorKind::bad_request);
    // Also after a good effect.
    body = sample.body;
    body[sample.ends[0]] = kind;
    REQUIRE_THROWS_KIND(decode_effects(body), ErrorKind::bad_request);
}

TEST_CASE("a restore marker round-trips and is recognised as one", "[shared]") {
    EffectWriter w;
    w.restore("sqlite file, 2 table(s), 8192 bytes, xxh3 00ff");
    std::string body = w.take();
    CHECK(is_restore_body(body));
    std::vector<Effect> effects = decode_effects(body);
    REQUIRE(effects.size() == 1);
    CHECK(effects[0].kind == EffectKind::restore);
    CHECK(effects[0].digest == "sqlite file, 2 table(s), 8192 bytes, xxh3 00ff");
    CHECK(describe(effects[0]).find("restore") != std::string::npos);
    CHECK_FALSE(is_restore_body(""));
    CHECK_FALSE(is_restore_body(SampleBody().body));
    // Cut anywhere, it is malformed.
    for (std::size_t n = 1; n < body.size(); ++n)
        REQUIRE_THROWS_KIND(decode_effects(body.substr(0, n)), ErrorKind::bad_request);
}

TEST_CASE("an unknown value type is rejected", "[shared]") {
    auto type = GENERATE(as<char>{}, '\x05', '\x06', 'I', '\xff');
    EffectWriter w;
    put_row_change(w, EffectKind::insert, "t", 0, 1, {}, {integer(1)});
    std::string body = w.take();
    // kind (1), table (4 + 1), old and new rowid (16), column count (4): the value's type.
    const std::size_t type_at = 1 + 5 + 16 + 4;
    REQUIRE(body[type_at] == static_cast<char>(Value::Type::integer));
    body[type_at] = type;
    REQUIRE_THROWS_KIND(decode_effects(body), ErrorKind::bad_request);
}

TEST_CASE("a length that runs past the end of the body is rejected", "[shared]") {
    auto lie = GENERATE(as<uint32_t>{}, 1, 1000, 0x7fffffff, 0xffffffff);
    INFO("length plus " << lie);
    // Adds `lie` to the little-endian u32 at `at`.
    auto lengthen = [&](std::string body, std::size_t at) {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v |= uint32_t{static_cast<uint8_t>(body[at + static_cast<std::size_t>(i)])} << (8 * i);
        v += lie;
        for (int i = 0; i < 4; ++i)
            body[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
        return body;
    };
    SECTION("a table name") {
        EffectWriter w;
        put_row_change(w, EffectKind::remove, "t", 1, 0, {integer(1)}, {});
        REQUIRE_THROWS_KIND(decode_effects(lengthen(w.take(), 1)), ErrorKind::bad_request);
    }
    SECTION("a text value") {
        EffectWriter w;
        put_row_change(w, EffectKind::insert, "t", 0, 1, {}, {text("abc")});
        REQUIRE_THROWS_KIND(decode_effects(lengthen(w.take(), 1 + 5 + 16 + 4 + 1)),
                            ErrorKind::bad_request);
    }
    SECTION("a blob value") {
        EffectWriter w;
        put_row_change(w, EffectKind::insert, "t", 0, 1, {}, {blob("abc")});
        REQUIRE_THROWS_KIND(decode_effects(lengthen(w.take(), 1 + 5 + 16 + 4 + 1)),
                            ErrorKind::bad_request);
    }
    SECTION("a schema statement") {
        EffectWriter w;
        w.schema("CREATE TABLE t(v)");
        REQUIRE_THROWS_KIND(decode_effects(lengthen(w.take(), 1)), ErrorKind::bad_request);
    }
}

TEST_CASE("a column count the body cannot hold is rejected", "[shared]") {
    // The count is checked against what is left before anything is reserved for it: a
    // lie of four billion columns must not become an allocation (std::bad_alloc would not
    // be Error(bad_request), and this case would fail).
    auto count = GENERATE(as<uint32_t>{}, 2, 3, 1000, 0xffffffff);
    auto kind = GENERATE(EffectKind::insert, EffectKind::update, EffectKind::remove);
    INFO("count " << count << ", kind " << static_cast<char>(kind));
    EffectWriter w;
    put_row_change(w, kind, "t", 1, 1, {integer(1)}, {integer(2)});
    std::string body = w.take();
    const std::size_t count_at = 1 + 5 + 16;
    for (int i = 0; i < 4; ++i)
        body[count_at + static_cast<std::size_t>(i)] = static_cast<char>(count >> (8 * i));
    REQUIRE_THROWS_KIND(decode_effects(body), ErrorKind::bad_request);
}

TEST_CASE("a sequence row count the body cannot hold is rejected", "[shared]") {
    auto count = GENERATE(as<uint32_t>{}, 2, 18, 1000, 0xffffffff);
    INFO("count " << count);
    SqliteValues sqlite;
    sqlite.select("SELECT 't', 1", [](sqlite3_stmt*) {});
    EffectWriter w;
    w.begin_sequence();
    w.sequence_row(1, sqlite.column(0), sqlite.column(1));
    std::string body = w.take();
    for (int i = 0; i < 4; ++i)
        body[1 + static_cast<std::size_t>(i)] = static_cast<char>(count >> (8 * i));
    REQUIRE_THROWS_KIND(decode_effects(body), ErrorKind::bad_request);
}

TEST_CASE("a row change without a table or without columns is rejected", "[shared]") {
    SECTION("no table") {
        EffectWriter w;
        put_row_change(w, EffectKind::insert, "", 0, 1, {}, {integer(1)});
        REQUIRE_THROWS_KIND(decode_effects(w.take()), ErrorKind::bad_request);
    }
    SECTION("no columns") {
        auto kind = GENERATE(EffectKind::insert, EffectKind::update, EffectKind::remove);
        EffectWriter w;
        put_row_change(w, kind, "t", 1, 1, {}, {});
        REQUIRE_THROWS_KIND(decode_effects(w.take()), ErrorKind::bad_request);
    }
}

TEST_CASE("an empty schema statement is rejected", "[shared]") {
    EffectWriter w;
    w.schema("");
    REQUIRE_THROWS_KIND(decode_effects(w.take()), ErrorKind::bad_request);
}
