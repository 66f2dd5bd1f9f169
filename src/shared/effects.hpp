#pragma once
// The body of a log entry: the effects of one write, in the order they happened on the
// master. A write runs once, on the master; replicas apply these effects and never
// evaluate a client's expression, so random(), total_changes(), rowids picked at random
// and time zones cannot make them differ. docs/PROTOCOL.md specifies the bytes.
//
// Effects are:
//   - row changes (insert, update, delete): table, old and new rowid (0 in WITHOUT ROWID
//     tables), and the row's stored column values before and after, as the preupdate hook
//     sees them;
//   - a schema statement (DDL), run as text on replicas;
//   - the whole content of sqlite_sequence, when the write changed it (AUTOINCREMENT
//     bookkeeping that no hook reports).
//
// EffectWriter appends, EffectReader walks a body and checks every length: a malformed
// body throws Error(bad_request) and never reads past its end. Both are plain values with
// no threads of their own.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3_value;

namespace sqlrep {

enum class EffectKind : uint8_t {
    insert = 'I',
    update = 'U',
    remove = 'D',
    schema = 'S',
    sequence = 'Q',
    // The whole database was replaced (POST /restore, master --restore): the entry is
    // this one effect, the restored data's digest. No replica can apply it row by row;
    // one that meets it installs a snapshot taken at or after it (docs/PROTOCOL.md).
    restore = 'R',
};

// One SQLite value as it travels: the type and the exact bits (reals bit-exact).
struct Value {
    enum class Type : uint8_t { null = 0, integer = 1, real = 2, text = 3, blob = 4 };
    Type type = Type::null;
    int64_t integer = 0;
    double real = 0;
    std::string_view bytes;  // text or blob; points into the body being read
};

// One row of sqlite_sequence.
struct SequenceRow {
    int64_t rowid = 0;
    Value name;
    Value seq;
};

// One decoded effect. Views point into the body, which must outlive it.
struct Effect {
    EffectKind kind = EffectKind::insert;
    std::string_view table;         // row changes
    int64_t old_rowid = 0;          // update, delete
    int64_t new_rowid = 0;          // insert, update
    std::vector<Value> old_values;  // update, delete: every stored column, in storage order
    std::vector<Value> new_values;  // insert, update
    std::string_view sql;           // schema
    std::vector<SequenceRow> sequence;
    std::string_view digest;  // restore: what the restored data was (text, for people)
    std::string_view raw;     // this effect's bytes in the body

    bool is_row_change() const {
        return kind == EffectKind::insert || kind == EffectKind::update ||
               kind == EffectKind::remove;
    }
};

class EffectWriter {
  public:
    // A row change. `old_values`/`new_values` are read through `get(i, &value)` calls
    // for i in [0, columns): the preupdate hook's accessors, or a result row's.
    template <typename GetOld, typename GetNew>
    void row_change(EffectKind kind, std::string_view table, int64_t old_rowid, int64_t new_rowid,
                    int columns, GetOld get_old, GetNew get_new) {
        begin_row_change(kind, table, old_rowid, new_rowid, columns);
        if (kind != EffectKind::insert)
            for (int i = 0; i < columns; ++i) put_value(get_old(i));
        if (kind != EffectKind::remove)
            for (int i = 0; i < columns; ++i) put_value(get_new(i));
    }
    void schema(std::string_view sql);
    // A restore marker: the whole body of its entry.
    void restore(std::string_view digest);
    // The whole of sqlite_sequence: begin_sequence(), then one sequence_row() per row.
    void begin_sequence();
    void sequence_row(int64_t rowid, sqlite3_value* name, sqlite3_value* seq);
    // Appends effects already encoded (whole effects taken from another body).
    void append_raw(std::string_view effects) { out_.append(effects); }

    void put_value(sqlite3_value* value);
    void put_value(const Value& value);

    const std::string& bytes() const { return out_; }
    std::string take() { return std::move(out_); }
    std::size_t size() const { return out_.size(); }
    void truncate(std::size_t size) { out_.resize(size); }
    void clear() { out_.clear(); }

  private:
    void begin_row_change(EffectKind kind, std::string_view table, int64_t old_rowid,
                          int64_t new_rowid, int columns);
    // Makes room for `bytes` more at the end; returns where they go.
    char* grow(std::size_t bytes);
    void put_u32(uint32_t v);
    void put_i64(int64_t v);
    void put_bytes(std::string_view bytes);

    std::string out_;
    std::size_t sequence_count_at_ = 0;  // where begin_sequence() put its row count
};

class EffectReader {
  public:
    explicit EffectReader(std::string_view body) : rest_(body) {}

    // Decodes the next effect into `effect` (reusing its vectors); false at the end.
    bool next(Effect& effect);

  private:
    uint8_t get_u8();
    uint32_t get_u32();
    int64_t get_i64();
    std::string_view get_bytes();
    Value get_value();
    void get_values(std::vector<Value>& out, uint32_t count);

    std::string_view rest_;
};

// Every effect of a body, decoded (tests and tools; the applier walks with EffectReader).
std::vector<Effect> decode_effects(std::string_view body);

// Whether a body is a restore marker (an entry that replaced the whole database).
// Does not validate the rest of the body.
bool is_restore_body(std::string_view body);

// A short human description of an effect, for divergence reports and logs.
std::string describe(const Effect& effect);

}  // namespace sqlrep
