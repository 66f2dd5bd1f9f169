#pragma once
// Helpers shared by the unit tests: a temp directory that always goes away, shortcuts to
// run client SQL, a way to check which sqlrep::Error a call throws, and a stand-in master
// and replica that make and apply entry bodies the way the sequencer and the applier do.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "shared/connection.hpp"
#include "shared/effect_applier.hpp"
#include "shared/effect_recorder.hpp"
#include "shared/error.hpp"
#include "shared/log_entry.hpp"
#include "shared/published_index.hpp"
#include "shared/sql_executor.hpp"
#include "shared/table_shape.hpp"

namespace Catch {
template <>
struct StringMaker<sqlrep::ErrorKind> {
    static std::string convert(sqlrep::ErrorKind kind) { return sqlrep::error_kind_name(kind); }
};
}  // namespace Catch

namespace sqlrep::test {

// A published index for tests whose writers' commits no reader looks at (the sequencer
// and the applier publish every commit; a node shares one between its roles).
inline PublishedIndex& scratch_published() {
    static PublishedIndex published;
    return published;
}

// Checks every field of two entries, one CHECK each, so a failure names the field.
inline void check_same_entry(const Entry& a, const Entry& b) {
    CHECK(a.index == b.index);
    CHECK(a.term == b.term);
    CHECK(a.time_ms == b.time_ms);
    CHECK(a.body == b.body);
    CHECK(a.hash == b.hash);
}

// A fresh directory under the system temp dir, removed (with everything in it) when the
// guard goes out of scope, whether the test passed or threw.
class TempDir {
  public:
    TempDir() {
        static std::atomic<unsigned> counter{0};
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("sqlrep-unit-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + "-" +
                 std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

inline std::unique_ptr<Connection> open_writer(const std::string& path) {
    return std::make_unique<Connection>(path, Connection::Mode::writer);
}
inline std::unique_ptr<Connection> open_reader(const std::string& path) {
    return std::make_unique<Connection>(path, Connection::Mode::reader);
}

// A database file in its own temp dir with a writer connection open on it: the base of
// the per-file fixtures.
struct ScratchDb {
    TempDir dir;
    std::string path = dir.file("db.sqlite");
    std::unique_ptr<Connection> writer = open_writer(path);
};

// Runs one unit of client SQL.
inline ExecutionResult run(Connection& conn, const std::string& sql, json::value params = nullptr,
                           ExecutionRule rule = ExecutionRule::write,
                           const ResultLimits& limits = {}) {
    return execute(conn, {SqlStatement{sql, std::move(params)}}, rule, limits);
}
inline ExecutionResult query(Connection& conn, const std::string& sql,
                             json::value params = nullptr) {
    return run(conn, sql, std::move(params), ExecutionRule::read_only);
}

// The rows of the last statement's result.
inline json::array rows_of(const ExecutionResult& r) {
    return r.results.back().as_object().at("rows").as_array();
}
// The first column of the first row of a read.
inline json::value scalar(Connection& conn, const std::string& sql) {
    auto rows = rows_of(query(conn, sql));
    REQUIRE(!rows.empty());
    return rows[0].as_array()[0];
}
// Like scalar(), with the reserved tables (and every pragma) allowed.
inline json::value internal_scalar(Connection& conn, const std::string& sql) {
    return conn.internal([&] {
        auto rows = rows_of(run(conn, sql));
        REQUIRE(!rows.empty());
        return rows[0].as_array()[0];
    });
}

// A stand-in master: a writer connection whose writes become entry bodies the way the
// sequencer makes them (EffectRecorder as the statement observer, begin_entry/finish_entry
// around each write, in a savepoint of its own transaction).
class RecordingMaster {
  public:
    explicit RecordingMaster(const std::string& path)
        : conn_(open_writer(path)), recorder_(std::make_unique<EffectRecorder>(*conn_)) {
        conn_->set_statement_observer(recorder_.get());
    }

    Connection& conn() { return *conn_; }

    // Runs `unit` as one write and returns its body. A failed write changes nothing and
    // its error propagates. Inside a transaction the caller opened (to group many writes
    // in one commit), the write takes a savepoint of it; otherwise it commits on its own.
    std::string write(const std::vector<SqlStatement>& unit) {
        const bool own = !conn_->in_transaction();
        if (own) conn_->exec_internal("BEGIN IMMEDIATE");
        conn_->exec_internal("SAVEPOINT request");
        try {
            recorder_->begin_entry();
            execute(*conn_, unit, ExecutionRule::write);
            std::string body = recorder_->finish_entry();
            conn_->exec_internal("RELEASE request");
            if (own) conn_->exec_internal("COMMIT");
            return body;
        } catch (const Error& e) {
            Error reason = recorder_->failure().value_or(e);  // as the sequencer reports it
            recorder_->abandon();
            if (conn_->in_transaction()) {
                conn_->exec_internal("ROLLBACK TO request");
                conn_->exec_internal("RELEASE request");
                if (own) conn_->exec_internal("ROLLBACK");
            }
            throw reason;
        }
    }
    std::string write(const std::string& sql, json::value params = nullptr) {
        return write(std::vector<SqlStatement>{{sql, std::move(params)}});
    }

  private:
    std::unique_ptr<Connection> conn_;
    std::unique_ptr<EffectRecorder> recorder_;  // after conn_: uninstalls itself first
};

// A stand-in replica: a writer connection that only applies bodies, each in its own
// transaction, numbered 1, 2, 3... as entries.
class ApplyingReplica {
  public:
    explicit ApplyingReplica(const std::string& path)
        : conn_(open_writer(path)), applier_(std::make_unique<EffectApplier>(*conn_)) {}

    Connection& conn() { return *conn_; }
    int64_t applied() const { return applied_; }

    // Applies `body` as entry applied() + 1; on error rolls it back and rethrows.
    void apply(const std::string& body) {
        conn_->exec_internal("BEGIN IMMEDIATE");
        try {
            applier_->apply(applied_ + 1, body);
            conn_->exec_internal("COMMIT");
        } catch (const Error&) {
            if (conn_->in_transaction()) conn_->exec_internal("ROLLBACK");
            throw;
        }
        ++applied_;
    }

  private:
    std::unique_ptr<Connection> conn_;
    std::unique_ptr<EffectApplier> applier_;
    int64_t applied_ = 0;
};

// One value as text that keeps its type and every bit: reals in hex-float form, text and
// blobs with every byte that is not printable ASCII escaped.
inline std::string describe_column(sqlite3_stmt* stmt, int column) {
    char buffer[64];
    switch (sqlite3_column_type(stmt, column)) {
        case SQLITE_INTEGER:
            return std::to_string(sqlite3_column_int64(stmt, column));
        case SQLITE_FLOAT:
            std::snprintf(buffer, sizeof buffer, "%a", sqlite3_column_double(stmt, column));
            return buffer;
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            bool text = sqlite3_column_type(stmt, column) == SQLITE_TEXT;
            auto bytes = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, column));
            int size = sqlite3_column_bytes(stmt, column);
            std::string out = text ? "'" : "x'";
            for (int i = 0; i < size; ++i) {
                unsigned char c = bytes[i];
                if (text && c >= 0x20 && c < 0x7f && c != '\\') {
                    out.push_back(static_cast<char>(c));
                } else {
                    std::snprintf(buffer, sizeof buffer, text ? "\\x%02x" : "%02x", c);
                    out += buffer;
                }
            }
            return out + "'";
        }
        default:
            return "NULL";
    }
}

// Everything a database holds, as text to compare: its schema, then every row (rowid
// first, unless the table has none) of every table, SQLite's own (sqlite_sequence,
// sqlite_stat1) and virtual tables' shadow tables included, sqlrep's reserved tables not.
// Rows are sorted, so equal content gives equal text whatever the scan order.
inline std::string database_content(Connection& conn) {
    return conn.internal([&] {
        // Every row of `sql`'s result, each as one line, columns as describe_column gives
        // them.
        auto all_rows = [&](const std::string& sql) {
            sqlite3_stmt* stmt = nullptr;
            INFO(sql);
            REQUIRE(sqlite3_prepare_v2(conn.handle(), sql.c_str(), -1, &stmt, nullptr) ==
                    SQLITE_OK);
            std::vector<std::string> rows;
            while (sqlite3_step(stmt) == SQLITE_ROW) {
                std::string row;
                for (int i = 0; i < sqlite3_column_count(stmt); ++i)
                    row += (i ? " | " : "") + describe_column(stmt, i);
                rows.push_back(std::move(row));
            }
            sqlite3_finalize(stmt);
            std::sort(rows.begin(), rows.end());
            return rows;
        };
        struct Table {
            std::string name;
            bool is_virtual, without_rowid;
        };
        std::vector<Table> tables;
        {
            auto list = conn.cached(
                "SELECT name, type = 'virtual', wr FROM pragma_table_list WHERE schema = 'main' "
                "AND type != 'view' AND name NOT IN ('sqlite_schema', 'sqlite_temp_schema') "
                "AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY name");
            while (sqlite3_step(list.get()) == SQLITE_ROW)
                tables.push_back({reinterpret_cast<const char*>(sqlite3_column_text(list.get(), 0)),
                                  sqlite3_column_int(list.get(), 1) != 0,
                                  sqlite3_column_int(list.get(), 2) != 0});
        }
        std::string out = "schema\n";
        for (const std::string& row :
             all_rows("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name NOT "
                      "LIKE '\\_sqlrep\\_%' ESCAPE '\\'"))
            out += "  " + row + "\n";
        for (const Table& t : tables) {
            std::string rowid = t.is_virtual ? "rowid" : load_table_shape(conn, t.name).rowid_name;
            std::string select = t.without_rowid ? "SELECT *" : "SELECT " + rowid + ", *";
            out += "table " + t.name + "\n";
            for (const std::string& row : all_rows(select + " FROM " + quote_identifier(t.name)))
                out += "  " + row + "\n";
        }
        return out;
    });
}

struct Thrown {
    bool thrown = false;
    ErrorKind kind = ErrorKind::internal;
    std::string message;
};

// Calls fn and reports the sqlrep::Error it threw, if any. Other exceptions propagate.
template <typename Fn>
Thrown thrown_by(Fn&& fn) {
    Thrown t;
    try {
        fn();
    } catch (const Error& e) {
        t.thrown = true;
        t.kind = e.kind();
        t.message = e.what();
    }
    return t;
}

// A master and a replica on two files of one temp dir: write() runs `sql` on the master,
// applies the entry it became on the replica, and returns its body.
struct MasterReplicaPair {
    TempDir dir;
    RecordingMaster master{dir.file("master.sqlite")};
    ApplyingReplica replica{dir.file("replica.sqlite")};

    std::string write(const std::string& sql, json::value params = nullptr) {
        std::string body = master.write(sql, std::move(params));
        replica.apply(body);
        return body;
    }
};

}  // namespace sqlrep::test

// Requires `expr` to throw sqlrep::Error of kind `k`.
#define REQUIRE_THROWS_KIND(expr, k)                                     \
    do {                                                                 \
        auto thrown_ = ::sqlrep::test::thrown_by([&] { (void)(expr); }); \
        INFO("error message: " << thrown_.message);                      \
        REQUIRE(thrown_.thrown);                                         \
        REQUIRE(thrown_.kind == (k));                                    \
    } while (false)

#define CHECK_THROWS_KIND(expr, k)                                       \
    do {                                                                 \
        auto thrown_ = ::sqlrep::test::thrown_by([&] { (void)(expr); }); \
        INFO("error message: " << thrown_.message);                      \
        CHECK(thrown_.thrown);                                           \
        CHECK(thrown_.kind == (k));                                      \
    } while (false)
