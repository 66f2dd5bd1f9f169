#pragma once
// Helpers shared by the unit tests: a temp directory that always goes away, shortcuts to
// run client SQL, and a way to check which sqlrep::Error a call throws.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "shared/connection.hpp"
#include "shared/error.hpp"
#include "shared/log_entry.hpp"
#include "shared/sql_executor.hpp"

namespace Catch {
template <>
struct StringMaker<sqlrep::ErrorKind> {
    static std::string convert(sqlrep::ErrorKind kind) { return sqlrep::error_kind_name(kind); }
};
}  // namespace Catch

namespace sqlrep::test {

// Checks every field of two entries, one CHECK each, so a failure names the field.
inline void check_same_entry(const Entry& a, const Entry& b) {
    CHECK(a.index == b.index);
    CHECK(a.term == b.term);
    CHECK(a.time_ms == b.time_ms);
    CHECK(a.seed == b.seed);
    CHECK(a.changes == b.changes);
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
inline ExecutionResult run(Connection& conn, const std::string& sql,
                           json::value params = nullptr,
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

}  // namespace sqlrep::test

// Requires `expr` to throw sqlrep::Error of kind `k`.
#define REQUIRE_THROWS_KIND(expr, k)                                   \
    do {                                                               \
        auto thrown_ = ::sqlrep::test::thrown_by([&] { (void)(expr); }); \
        INFO("error message: " << thrown_.message);                    \
        REQUIRE(thrown_.thrown);                                       \
        REQUIRE(thrown_.kind == (k));                                  \
    } while (false)

#define CHECK_THROWS_KIND(expr, k)                                     \
    do {                                                               \
        auto thrown_ = ::sqlrep::test::thrown_by([&] { (void)(expr); }); \
        INFO("error message: " << thrown_.message);                    \
        CHECK(thrown_.thrown);                                         \
        CHECK(thrown_.kind == (k));                                    \
    } while (false)
