// Security against real nodes: client tokens and roles (--auth), a rogue replica with the
// wrong cluster token, a forged "replicated" flag sent to a replica, and the connection
// limits (--max-connections, --header-timeout-ms, --max-json-depth) and invalid UTF-8.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "raw_connection.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;
namespace http = boost::beast::http;

const std::string kReader = "reader-" + random_hex(24);
const std::string kWriter = "writer-" + random_hex(24);
const std::string kAdmin = "admin-" + random_hex(24);

std::string auth_file_text() {
    return json::serialize(json::array{
        json::object{{"token", kReader}, {"role", "read"}},
        json::object{{"token", kWriter}, {"role", "write"}},
        json::object{{"token", kAdmin}, {"role", "admin"}},
    });
}

void check_json_error(const Response& r, unsigned status) {
    INFO(r.describe());
    CHECK(r.status == status);
    REQUIRE(r.body.is_object());
    CHECK(r.body.as_object().at("ok") == json::value(false));
    REQUIRE(r.body.as_object().if_contains("error") != nullptr);
}

int64_t count_rows(Cluster& c, Node& node, const std::string& table) {
    return c.rows(node, "SELECT count(*) FROM " + table).at(0).as_array().at(0).as_int64();
}

bool table_exists(Cluster& c, Node& node, const std::string& table) {
    return c.rows(node, "SELECT count(*) FROM sqlite_schema WHERE name = '" + table + "'")
               .at(0)
               .as_array()
               .at(0) == json::value(1);
}

}  // namespace

TEST_CASE("with --auth, a request needs a token and a role that allows it",
          "[integration][security]") {
    ClusterOptions options;
    options.replicas = 1;
    options.auth = auth_file_text();
    options.client_token = kAdmin;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    c.wait_converged();

    for (Node* node : c.nodes()) {
        INFO(node->name());
        NodeClient anonymous(node->url());
        NodeClient stranger(node->url(), "not-a-token");
        NodeClient reader(node->url(), kReader);
        NodeClient writer(node->url(), kWriter);

        // /health stays open for load balancers; everything else needs a known token.
        CHECK(anonymous.get("/health").ok());
        check_json_error(anonymous.query("SELECT 1"), 401);
        check_json_error(anonymous.get("/status"), 401);
        check_json_error(anonymous.get("/checksum"), 401);
        check_json_error(stranger.query("SELECT 1"), 401);
        check_json_error(stranger.exec("INSERT INTO t(v) VALUES ('stranger')"), 401);
        check_json_error(
            anonymous.request(http::verb::post, "/", R"({"command":"query","query":"SELECT 1"})",
                              {{"Authorization", "Basic " + kAdmin}}),
            401);

        // The 401 says how to authenticate.
        sqlrep::HttpClient raw(node->url());
        auto answer = raw.post("/", R"({"command":"query","query":"SELECT 1"})");
        CHECK(answer.status == 401);
        CHECK(answer.headers["www-authenticate"].find("Bearer") != std::string::npos);

        // read: queries and the read endpoints, no writes.
        CHECK(reader.query("SELECT count(*) FROM t").ok());
        CHECK(reader.get("/status").ok());
        CHECK(reader.get("/checksum").ok());
        check_json_error(reader.exec("INSERT INTO t(v) VALUES ('reader')"), 403);

        // write: data changes, here and through the replica, but no schema changes.
        Response wrote = writer.exec("INSERT INTO t(v) VALUES ('writer')");
        INFO(wrote.describe());
        CHECK(wrote.ok());
        check_json_error(writer.exec("CREATE TABLE by_writer (x)"), 403);
        check_json_error(writer.exec("DROP TABLE t"), 403);
    }

    // A batch that hides DDL behind a data change is refused whole on the master.
    NodeClient writer(c.master().url(), kWriter);
    check_json_error(
        writer.post(json::object{{"command", "exec"},
                                 {"batch",
                                  json::array{
                                      json::object{{"query", "INSERT INTO t(v) VALUES ('b')"}},
                                      json::object{{"query", "CREATE TABLE sneaky (x)"}},
                                  }}}),
        403);

    // admin: schema changes on the master.
    NodeClient admin(c.master().url(), kAdmin);
    CHECK(admin.exec("CREATE TABLE by_admin (x)").ok());

    c.wait_converged();
    for (Node* node : c.nodes()) {
        INFO(node->name());
        CHECK(count_rows(c, *node, "t") == 2);  // one write through each node
        CHECK(table_exists(c, *node, "by_admin"));
        CHECK_FALSE(table_exists(c, *node, "by_writer"));
        CHECK_FALSE(table_exists(c, *node, "sneaky"));
    }
    c.check_same_checksums();
}

TEST_CASE("a node refuses to start with a malformed auth file and says why",
          "[integration][security]") {
    auto dir = std::filesystem::temp_directory_path() / ("sqlrep-auth-" + random_hex(12));
    std::filesystem::create_directories(dir);
    struct Cleanup {
        std::filesystem::path dir;
        ~Cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    } cleanup{dir};

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"not json", "not valid JSON"},
        {"{}", "non-empty JSON array"},
        {R"([{"token": "t", "role": "root"}])", "roles are read, write and admin"},
        {R"([{"token": "", "role": "read"}])", "non-empty string \"token\""},
        {R"([{"token": "t", "role": "read"}, {"token": "t", "role": "admin"}])", "repeats a token"},
    };
    for (const auto& [text, expected] : bad) {
        INFO(text);
        std::ofstream(dir / "auth.json", std::ios::trunc) << text;
        CommandRun run = run_command(
            binary_path("master") + " 0 --port " + std::to_string(free_ports(1)[0]) +
            " --data-dir " + (dir / "data").string() + " --auth " + (dir / "auth.json").string());
        INFO(run.output);
        CHECK(run.exit_code > 0);
        CHECK(run.output.find(expected) != std::string::npos);
    }
}

TEST_CASE("a rogue replica with the wrong cluster token gets nothing and says so",
          "[integration][security]") {
    ClusterOptions options;
    options.replicas = 2;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE secret (v TEXT)");
    c.exec_ok(c.master(), "INSERT INTO secret VALUES ('only for the cluster')");

    // It claims to be replica 2 (stopped), with its own empty data dir and a guessed token.
    c.replica(2).kill();
    uint16_t port = free_ports(1)[0];
    Node rogue("rogue", binary_path("replica"),
               {"2", "2", "--host", "127.0.0.1", "--port", std::to_string(port), "--master",
                c.master().url(), "--data-dir", c.dir() + "/rogue", "--cluster-token",
                "guessed-" + random_hex(16)},
               port, c.dir() + "/rogue.log");
    rogue.start();
    rogue.wait_ready();

    // It says so in its log, and never receives the table.
    auto deadline = Clock::now() + kApplyTimeout;
    while (rogue.log_tail(200).find("refused our cluster token") == std::string::npos) {
        INFO(rogue.log_tail(50));
        REQUIRE(Clock::now() < deadline);
        std::this_thread::sleep_for(100ms);
    }
    json::object status = c.status(rogue);
    INFO(json::serialize(status));
    CHECK(status.at("applied_index") == json::value(0));
    CHECK(status.at("state") != json::value("following"));
    CHECK(c.rows(rogue, "SELECT count(*) FROM sqlite_schema WHERE name = 'secret'")
              .at(0)
              .as_array()
              .at(0) == json::value(0));

    // Writes it forwards are refused by the master and change nothing.
    Response forwarded = c.exec(rogue, "INSERT INTO secret VALUES ('from the rogue')");
    INFO(forwarded.describe());
    CHECK(forwarded.status == 403);
    CHECK(count_rows(c, c.master(), "secret") == 1);

    // The real cluster goes on: quorum writes still succeed with replica 1.
    c.exec_ok(c.master(), "INSERT INTO secret VALUES ('still working')");
    CHECK(count_rows(c, c.master(), "secret") == 2);
}

TEST_CASE("a client's forged replicated flag sent to a replica gets 403 and changes nothing",
          "[integration][security]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE f (v TEXT)");
    c.wait_converged();

    NodeClient client(c.replica(1).url());
    for (const char* claim : {"replicated", "forwarded"}) {
        INFO(claim);
        json::object body{{"command", "exec"}, {"query", "INSERT INTO f VALUES ('forged')"}};
        body[claim] = true;
        check_json_error(client.post(body), 403);
        // The seed's is_master flag is ignored, never trusted.
        body.erase(claim);
        body["is_master"] = true;
        body["query"] = "CREATE TABLE forged (x)";
        check_json_error(client.post(body), 403);
    }
    c.wait_converged();
    for (Node* node : c.nodes()) {
        CHECK(count_rows(c, *node, "f") == 0);
        CHECK_FALSE(table_exists(c, *node, "forged"));
    }
}

TEST_CASE("a client's forged term header gets 403 and the master stays master",
          "[integration][security]") {
    Cluster c;
    c.exec_ok(c.master(), "CREATE TABLE f (v TEXT)");
    json::object body{{"command", "exec"}, {"query", "INSERT INTO f VALUES ('forged')"}};
    for (Node* node : c.nodes()) {
        // A later term from a node would make the master step down: only nodes may say it.
        check_json_error(NodeClient(node->url()).post(body, {{"X-Sqlrep-Term", "99"}}), 403);
    }
    json::object s = c.status(c.master());
    INFO(json::serialize(s));
    CHECK(s.at("role") == json::value("master"));
    CHECK(s.at("term") == json::value(1));
    c.exec_ok(c.replica(1), "INSERT INTO f VALUES ('still the same master')");
    CHECK(count_rows(c, c.master(), "f") == 1);
}

TEST_CASE("a client that trickles its headers or idles is cut off at --header-timeout-ms",
          "[integration][security]") {
    ClusterOptions options;
    options.replicas = 0;
    options.ack = "master";
    options.master_args = {"--header-timeout-ms", "1500"};
    Cluster c(options);

    SECTION("half a request header") {
        RawConnection slow(c.master().port());
        slow.send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        CHECK(slow.closed_within(20s));
        CHECK(c.get(c.master(), "/health").ok());
    }
    SECTION("an idle kept-alive connection after its answer") {
        RawConnection idle(c.master().port());
        idle.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        std::string received;
        CHECK(idle.closed_within(20s, &received));
        CHECK(received.find("200 OK") != std::string::npos);
    }
}

TEST_CASE("connections past --max-connections are closed at once and served again once one frees",
          "[integration][security]") {
    ClusterOptions options;
    options.replicas = 0;
    options.ack = "master";
    // A header timeout far beyond the bounds below: only the cap can close a connection.
    options.master_args = {"--max-connections", "4", "--header-timeout-ms", "120000"};
    Cluster c(options);

    // Four connections the node keeps open, each with half a request so the node waits.
    // One may be refused while the node still counts the harness's own closed connection
    // (it notices closes asynchronously); that one is opened again.
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int attempt = 0; held.size() < 4 && attempt < 20; ++attempt) {
        auto conn = std::make_unique<RawConnection>(c.master().port());
        conn->send("GET /health HTTP/1.1\r\n");
        if (!conn->closed_within(300ms)) held.push_back(std::move(conn));
    }
    REQUIRE(held.size() == 4);
    RawConnection extra(c.master().port());
    std::string received;
    CHECK(extra.closed_within(20s, &received));
    CHECK(received.empty());
    for (auto& h : held) CHECK_FALSE(h->closed_within(100ms));

    held.clear();
    auto deadline = Clock::now() + 20s;
    bool served = false;
    while (!served && Clock::now() < deadline) {
        try {
            served = c.get(c.master(), "/health").ok();
        } catch (const std::exception&) {
            std::this_thread::sleep_for(50ms);
        }
    }
    CHECK(served);
}

TEST_CASE("bodies nested deeper than --max-json-depth or with invalid UTF-8 get 400",
          "[integration][security]") {
    ClusterOptions options;
    options.replicas = 0;
    options.ack = "master";
    options.master_args = {"--max-json-depth", "6"};
    Cluster c(options);
    NodeClient client(c.master().url());

    // The body object, then `levels` nested objects under an ignored field.
    auto nested = [](int levels) {
        std::string note = "1";
        for (int i = 0; i < levels; ++i) note = R"({"a":)" + note + "}";
        return R"({"command":"query","query":"SELECT 1","note":)" + note + "}";
    };
    Response at_limit = client.request(http::verb::post, "/", nested(5), {});
    INFO(at_limit.describe());
    CHECK(at_limit.ok());
    Response too_deep = client.request(http::verb::post, "/", nested(6), {});
    check_json_error(too_deep, 400);
    CHECK(too_deep.error().find("deeper than 6") != std::string::npos);

    for (std::string bad : {"\xC3\x28", "\xFF", "\xED\xA0\x80", "\xC0\xAF"}) {
        check_json_error(
            client.request(http::verb::post, "/",
                           R"({"command":"query","query":"SELECT ')" + bad + R"('"})", {}),
            400);
        check_json_error(
            client.request(http::verb::post, "/",
                           R"({"command":"exec","query":"SELECT ?","params":[")" + bad + R"("]})",
                           {}),
            400);
    }
    CHECK(client.query("SELECT 1").ok());
}

TEST_CASE(
    "a huge body gets 413, a runaway query is interrupted, a huge result gets 413, "
    "and the node keeps serving",
    "[integration][security]") {
    ClusterOptions options;
    options.replicas = 1;
    const std::vector<std::string> limits = {
        "--max-body-bytes", "65536", "--query-timeout-ms", "300", "--max-result-rows", "1000"};
    options.master_args = limits;
    options.replica_args = limits;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t (v TEXT)");
    c.wait_converged();

    for (Node* node : c.nodes()) {
        INFO(node->name());
        NodeClient client(node->url());
        // Over the body limit: refused before anything is parsed or written.
        std::string big(70000, 'x');
        check_json_error(client.exec("INSERT INTO t VALUES (?)", json::array{big}), 413);

        // A runaway read is interrupted with an error, while another client is served.
        std::atomic<bool> served{false};
        std::thread other([&] {
            NodeClient second(node->url());
            std::this_thread::sleep_for(50ms);
            served = second.query("SELECT 1").ok();
        });
        Response runaway = client.query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
            "SELECT count(*) FROM n");
        other.join();
        INFO(runaway.describe());
        CHECK_FALSE(runaway.ok());
        CHECK(runaway.error().find("interrupted") != std::string::npos);
        CHECK(served);

        // A result over --max-result-rows.
        Response huge = client.query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 5000) "
            "SELECT i FROM n");
        check_json_error(huge, 413);
    }

    // A runaway write is interrupted on the master's writer, which then goes on.
    Response runaway_write = c.exec(
        c.master(),
        "INSERT INTO t SELECT 'x' FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
        "FROM n) SELECT i FROM n) WHERE i = -1");
    INFO(runaway_write.describe());
    CHECK_FALSE(runaway_write.ok());
    c.exec_ok(c.master(), "INSERT INTO t VALUES ('after')");
    c.exec_ok(c.replica(1), "INSERT INTO t VALUES ('through the replica')");
    c.wait_converged();
    for (Node* node : c.nodes()) CHECK(count_rows(c, *node, "t") == 2);
    c.check_same_checksums();
}
