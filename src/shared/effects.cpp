#include "shared/effects.hpp"

#include <bit>
#include <cstring>

#include <sqlite3.h>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

[[noreturn]] void malformed(const char* what) {
    throw Error(ErrorKind::bad_request, std::string("malformed entry body: ") + what);
}

bool is_kind(uint8_t byte) {
    switch (static_cast<EffectKind>(byte)) {
        case EffectKind::insert:
        case EffectKind::update:
        case EffectKind::remove:
        case EffectKind::schema:
        case EffectKind::sequence:
        case EffectKind::restore:
            return true;
    }
    return false;
}

}  // namespace

namespace {

// Writes `v` little-endian at `at` and returns the end of what it wrote.
template <typename T>
char* store_le(char* at, T v) {
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(at, &v, sizeof v);
    } else {
        for (std::size_t i = 0; i < sizeof v; ++i)
            at[i] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
    }
    return at + sizeof v;
}

}  // namespace

// Every put_ grows out_ once and writes in place: the recorder encodes each value of each
// row change, on the master for every write and on replicas for every row they apply.
char* EffectWriter::grow(std::size_t bytes) {
    std::size_t at = out_.size();
    out_.resize(at + bytes);
    return out_.data() + at;
}

void EffectWriter::put_u32(uint32_t v) { store_le(grow(4), v); }

void EffectWriter::put_i64(int64_t v) { store_le(grow(8), static_cast<uint64_t>(v)); }

void EffectWriter::put_bytes(std::string_view bytes) {
    char* at = store_le(grow(4 + bytes.size()), static_cast<uint32_t>(bytes.size()));
    if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
}

void EffectWriter::begin_row_change(EffectKind kind, std::string_view table, int64_t old_rowid,
                                    int64_t new_rowid, int columns) {
    char* at = grow(1 + 4 + table.size() + 8 + 8 + 4);
    *at++ = static_cast<char>(kind);
    at = store_le(at, static_cast<uint32_t>(table.size()));
    if (!table.empty()) std::memcpy(at, table.data(), table.size());
    at += table.size();
    at = store_le(at, static_cast<uint64_t>(old_rowid));
    at = store_le(at, static_cast<uint64_t>(new_rowid));
    store_le(at, static_cast<uint32_t>(columns));
}

void EffectWriter::schema(std::string_view sql) {
    out_.push_back(static_cast<char>(EffectKind::schema));
    put_bytes(sql);
}

void EffectWriter::restore(std::string_view digest) {
    out_.push_back(static_cast<char>(EffectKind::restore));
    put_bytes(digest);
}

void EffectWriter::begin_sequence() {
    out_.push_back(static_cast<char>(EffectKind::sequence));
    sequence_count_at_ = out_.size();
    put_u32(0);
}

void EffectWriter::sequence_row(int64_t rowid, sqlite3_value* name, sqlite3_value* seq) {
    put_i64(rowid);
    put_value(name);
    put_value(seq);
    uint32_t rows = 0;
    for (int i = 0; i < 4; ++i)
        rows |=
            uint32_t{static_cast<uint8_t>(out_[sequence_count_at_ + static_cast<std::size_t>(i)])}
            << (8 * i);
    ++rows;
    for (int i = 0; i < 4; ++i)
        out_[sequence_count_at_ + static_cast<std::size_t>(i)] = static_cast<char>(rows >> (8 * i));
}

void EffectWriter::put_value(const Value& value) {
    switch (value.type) {
        case Value::Type::null:
            out_.push_back(static_cast<char>(value.type));
            break;
        case Value::Type::integer: {
            char* at = grow(1 + 8);
            *at = static_cast<char>(value.type);
            store_le(at + 1, static_cast<uint64_t>(value.integer));
            break;
        }
        case Value::Type::real: {
            uint64_t bits;
            std::memcpy(&bits, &value.real, sizeof bits);
            char* at = grow(1 + 8);
            *at = static_cast<char>(value.type);
            store_le(at + 1, bits);
            break;
        }
        case Value::Type::text:
        case Value::Type::blob: {
            char* at = grow(1 + 4 + value.bytes.size());
            *at = static_cast<char>(value.type);
            at = store_le(at + 1, static_cast<uint32_t>(value.bytes.size()));
            if (!value.bytes.empty()) std::memcpy(at, value.bytes.data(), value.bytes.size());
            break;
        }
    }
}

void EffectWriter::put_value(sqlite3_value* value) {
    Value v;
    switch (value == nullptr ? SQLITE_NULL : sqlite3_value_type(value)) {
        case SQLITE_INTEGER:
            v.type = Value::Type::integer;
            v.integer = sqlite3_value_int64(value);
            break;
        case SQLITE_FLOAT:
            v.type = Value::Type::real;
            v.real = sqlite3_value_double(value);
            break;
        case SQLITE_TEXT: {
            v.type = Value::Type::text;
            auto text = reinterpret_cast<const char*>(sqlite3_value_text(value));
            v.bytes = std::string_view(text ? text : "",
                                       static_cast<std::size_t>(sqlite3_value_bytes(value)));
            break;
        }
        case SQLITE_BLOB: {
            v.type = Value::Type::blob;
            auto blob = static_cast<const char*>(sqlite3_value_blob(value));
            v.bytes = std::string_view(blob ? blob : "",
                                       static_cast<std::size_t>(sqlite3_value_bytes(value)));
            break;
        }
        default:
            break;
    }
    put_value(v);
}

uint8_t EffectReader::get_u8() {
    if (rest_.empty()) malformed("it ends inside an effect");
    auto v = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return v;
}

uint32_t EffectReader::get_u32() {
    if (rest_.size() < 4) malformed("it ends inside an effect");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(rest_[i])} << (8 * i);
    rest_.remove_prefix(4);
    return v;
}

int64_t EffectReader::get_i64() {
    if (rest_.size() < 8) malformed("it ends inside an effect");
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(rest_[i])} << (8 * i);
    rest_.remove_prefix(8);
    return static_cast<int64_t>(v);
}

std::string_view EffectReader::get_bytes() {
    uint32_t size = get_u32();
    if (rest_.size() < size) malformed("a length runs past its end");
    std::string_view out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return out;
}

Value EffectReader::get_value() {
    Value v;
    uint8_t type = get_u8();
    if (type > static_cast<uint8_t>(Value::Type::blob)) malformed("unknown value type");
    v.type = static_cast<Value::Type>(type);
    switch (v.type) {
        case Value::Type::null:
            break;
        case Value::Type::integer:
            v.integer = get_i64();
            break;
        case Value::Type::real: {
            int64_t bits = get_i64();
            std::memcpy(&v.real, &bits, sizeof bits);
            break;
        }
        case Value::Type::text:
        case Value::Type::blob:
            v.bytes = get_bytes();
            break;
    }
    return v;
}

void EffectReader::get_values(std::vector<Value>& out, uint32_t count) {
    out.clear();
    // Each value takes at least one byte: a count larger than what is left is a lie, and
    // must not make us reserve memory for it.
    if (count > rest_.size()) malformed("a column count runs past its end");
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) out.push_back(get_value());
}

bool EffectReader::next(Effect& effect) {
    if (rest_.empty()) return false;
    const char* start = rest_.data();
    uint8_t kind = get_u8();
    if (!is_kind(kind)) malformed("unknown effect kind");
    effect.kind = static_cast<EffectKind>(kind);
    effect.table = {};
    effect.sql = {};
    effect.old_rowid = effect.new_rowid = 0;
    effect.old_values.clear();
    effect.new_values.clear();
    effect.sequence.clear();
    effect.digest = {};
    switch (effect.kind) {
        case EffectKind::insert:
        case EffectKind::update:
        case EffectKind::remove: {
            effect.table = get_bytes();
            if (effect.table.empty()) malformed("a row change names no table");
            effect.old_rowid = get_i64();
            effect.new_rowid = get_i64();
            uint32_t columns = get_u32();
            if (columns == 0) malformed("a row change has no columns");
            if (effect.kind != EffectKind::insert) get_values(effect.old_values, columns);
            if (effect.kind != EffectKind::remove) get_values(effect.new_values, columns);
            break;
        }
        case EffectKind::schema:
            effect.sql = get_bytes();
            if (effect.sql.empty()) malformed("an empty schema statement");
            break;
        case EffectKind::sequence: {
            uint32_t rows = get_u32();
            if (rows > rest_.size()) malformed("a row count runs past its end");
            for (uint32_t i = 0; i < rows; ++i) {
                SequenceRow row;
                row.rowid = get_i64();
                row.name = get_value();
                row.seq = get_value();
                effect.sequence.push_back(row);
            }
            break;
        }
        case EffectKind::restore:
            effect.digest = get_bytes();
            break;
    }
    effect.raw = std::string_view(start, static_cast<std::size_t>(rest_.data() - start));
    return true;
}

bool is_restore_body(std::string_view body) {
    return !body.empty() && static_cast<EffectKind>(body[0]) == EffectKind::restore;
}

std::vector<Effect> decode_effects(std::string_view body) {
    std::vector<Effect> out;
    EffectReader reader(body);
    Effect effect;
    while (reader.next(effect)) out.push_back(effect);
    return out;
}

std::string describe(const Effect& effect) {
    switch (effect.kind) {
        case EffectKind::insert:
            return "insert into " + std::string(effect.table) + " rowid " +
                   std::to_string(effect.new_rowid);
        case EffectKind::update:
            return "update of " + std::string(effect.table) + " rowid " +
                   std::to_string(effect.old_rowid);
        case EffectKind::remove:
            return "delete from " + std::string(effect.table) + " rowid " +
                   std::to_string(effect.old_rowid);
        case EffectKind::schema:
            return "schema change: " + std::string(effect.sql.substr(0, 80));
        case EffectKind::sequence:
            return "sqlite_sequence update";
        case EffectKind::restore:
            return "restore of the whole database: " + std::string(effect.digest.substr(0, 80));
    }
    return "effect";
}

}  // namespace sqlrep
