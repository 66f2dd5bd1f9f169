// Issue 16, "no read can hurt a node", against real nodes: a client with the read role tries
// to read memory (fts3_tokenizer, sqlite_stmt, dbstat), to crash a replica (a tokenizer
// pointer then a MATCH), to blow up memory (huge zeroblobs), to hold threads (strong reads
// on a future index) and to hide node connections behind its own; an admin tries TEMP
// objects in every spelling. Each is refused with a 4xx or answered exactly, every node is
// healthy afterwards, and its peak RSS stays within a generous sanity bound.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "raw_connection.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;

const std::string kReader = "reader-" + random_hex(24);
const std::string kAdmin = "admin-" + random_hex(24);

std::string auth_file_text() {
    return json::serialize(json::array{
        json::object{{"token", kReader}, {"role", "read"}},
        json::object{{"token", kAdmin}, {"role", "admin"}},
    });
}

void check_refused(const Response& r, unsigned status, const std::string& names = "") {
    INFO(r.describe());
    CHECK(r.status == status);
    if (!names.empty()) CHECK(r.error().find(names) != std::string::npos);
}

// The node's peak resident memory (VmHWM), in KiB; -1 when /proc cannot say.
long peak_rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

// The sanity bound on a node's peak memory. AddressSanitizer keeps freed memory in its
// quarantine (256 MiB by default) and adds its own shadow, so a node built with it peaks
// that much higher for the same work.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kPeakRssBoundKib = (400 + 400) * 1024;
#else
constexpr long kPeakRssBoundKib = 400 * 1024;
#endif

// Every node answers /health and stays within a sanity bound of memory (not a speed or
// size target: it only catches a read that made a node balloon).
void check_nodes_unhurt(Cluster& c) {
    for (Node* node : c.nodes()) {
        INFO(node->name());
        REQUIRE(node->running());
        // A connection just closed may still count against a small --max-connections for a
        // moment (the node notices closes asynchronously): ask again until it is served.
        bool healthy = false;
        for (auto deadline = Clock::now() + 20s; !healthy && Clock::now() < deadline;) {
            try {
                healthy = NodeClient(node->url()).get("/health", 5s).ok();
            } catch (const std::exception&) {
                std::this_thread::sleep_for(100ms);
            }
        }
        CHECK(healthy);
        long kib = peak_rss_kib(node->pid());
        std::printf("%s peak RSS (VmHWM): %ld KiB\n", node->name().c_str(), kib);
        CHECK(kib > 0);
        CHECK(kib < kPeakRssBoundKib);
    }
}

}  // namespace

TEST_CASE("a read-only client cannot read memory, crash or bloat a node", "[integration]") {
    ClusterOptions options;
    options.replicas = 1;
    options.auth = auth_file_text();
    options.client_token = kAdmin;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    c.exec_ok(c.master(), "CREATE VIRTUAL TABLE ft USING fts4(body)");
    c.exec_ok(c.master(), "INSERT INTO ft(body) VALUES ('hello world'), ('goodbye world')");
    c.exec_ok(c.master(),
              "INSERT INTO t(v) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
              "SELECT i + 1 FROM n WHERE i < 20000) SELECT 'row' || i FROM n");
    c.wait_converged();

    for (Node* node : c.nodes()) {
        INFO(node->name());
        NodeClient reader(node->url(), kReader);
        NodeClient admin(node->url(), kAdmin);

        // The heap address a read client once got back, and the pointer it could install.
        check_refused(reader.query("SELECT hex(fts3_tokenizer(?))", json::array{"simple"}), 403,
                      "fts3_tokenizer");
        check_refused(reader.query("SELECT FTS3_TOKENIZER(?, ?)",
                                   json::array{"simple", json::object{{"blob", "QUFBQUFBQUE="}}}),
                      403, "fts3_tokenizer");
        // ...and the MATCH that then crashed the replica answers exactly.
        auto match = reader.query("SELECT body FROM ft WHERE ft MATCH 'hello'");
        REQUIRE(match.ok());
        CHECK(match.rows() == json::array{json::array{"hello world"}});

        // Internals as virtual tables, and checks no time limit can stop.
        for (const char* sql :
             {"SELECT sql FROM sqlite_stmt", "SELECT * FROM dbstat",
              "SELECT name FROM dbstat('main')", "SELECT * FROM pragma_integrity_check",
              "PRAGMA quick_check", "PRAGMA integrity_check", "SELECT fts5(NULL)",
              "SELECT rtreenode(2, x'00')"}) {
            INFO(sql);
            check_refused(reader.query(sql), 403);
        }

        // Results past --max-result-bytes are refused while rows are produced, before the
        // values are built: a 400-class answer, not hundreds of MiB.
        check_refused(reader.query("SELECT zeroblob(60000000), zeroblob(60000000), "
                                   "zeroblob(60000000), zeroblob(60000000)"),
                      413);
        check_refused(reader.query("SELECT hex(zeroblob(40000000))"), 400);
        check_refused(reader.query("SELECT length(zeroblob(100000000))"), 400);
        check_refused(reader.query("SELECT v, zeroblob(1000000) FROM t"), 413);

        // A count the progress handler cannot interrupt is answered exactly (on the read
        // pool, never on an I/O thread).
        auto count = reader.query("SELECT count(*) FROM t");
        REQUIRE(count.ok());
        CHECK(count.rows().at(0).as_array().at(0) == json::value(20000));

        // TEMP objects, however they are spelled (the admin's exec; replicas forward it).
        for (const char* sql : {"CREATE TRIGGER temp.tr AFTER INSERT ON t BEGIN SELECT 1; END",
                                "CREATE TRIGGER \"TeMp\".tr AFTER INSERT ON t BEGIN SELECT 1; END",
                                "CREATE TEMPORARY TABLE x(a)", "CREATE TABLE TEMP.x(a)",
                                "CREATE VIEW \"temp\".v AS SELECT 1"}) {
            INFO(sql);
            auto r = admin.exec(sql);
            INFO(r.describe());
            CHECK(r.status == 403);
        }
    }
    check_nodes_unhurt(c);
}

TEST_CASE("a refused token is answered from the headers before a large body is read",
          "[integration]") {
    ClusterOptions options;
    options.replicas = 0;
    options.ack = "master";
    options.auth = auth_file_text();
    options.client_token = kAdmin;
    Cluster c(options);

    // Headers that announce 60 MB, and no body at all: only an answer made from the headers
    // can come back.
    for (const auto& [credentials, status] : std::vector<std::pair<std::string, std::string>>{
             {"", "401"},
             {"Authorization: Bearer not-a-token\r\n", "401"},
             {"X-Sqlrep-Token: not-the-cluster-token\r\n", "403"}}) {
        INFO(credentials);
        RawConnection raw(c.master().port());
        raw.send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                 credentials + "Content-Length: 60000000\r\n\r\n");
        std::string answer;
        raw.closed_within(20s, &answer);
        INFO(answer);
        CHECK(answer.rfind("HTTP/1.1 " + status, 0) == 0);
    }
    check_nodes_unhurt(c);
}

TEST_CASE("strong reads waiting on a future index do not hold up a replica's writes",
          "[integration]") {
    ClusterOptions options;
    options.replicas = 1;
    options.ack = "master";
    options.master_args = {"--wait-timeout-ms", "15000"};
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    c.wait_converged();
    Node& replica = c.replica(1);

    // More strong reads than the replica has forwarding threads (8 by default), each
    // waiting at the master for an index that will not come within its wait.
    constexpr int kReads = 12;
    std::atomic<int> finished{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < kReads; ++i)
        readers.emplace_back([&, url = replica.url()] {
            try {
                NodeClient client(url);
                client.query("SELECT 1", nullptr,
                             json::object{{"level", "strong"}, {"min_index", 1000000000}}, 30s);
            } catch (const std::exception&) {
            }
            ++finished;
        });
    std::this_thread::sleep_for(500ms);  // let them reach the master (not a bound: see below)

    // A write through the same replica goes through while they all still wait.
    auto write = c.exec(replica, "INSERT INTO t(v) VALUES ('through')");
    int finished_when_written = finished.load();
    for (auto& t : readers) t.join();
    INFO(write.describe());
    CHECK(write.ok());
    CHECK(finished_when_written == 0);
    check_nodes_unhurt(c);
}

TEST_CASE("node-to-node connections do not count against --max-connections", "[integration]") {
    ClusterOptions options;
    options.replicas = 2;
    options.ack = "master";
    options.master_args = {"--max-connections", "2", "--header-timeout-ms", "120000"};
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    c.wait_converged();

    // Two client connections the master keeps open (half a request each): the cap is full.
    // Fewer would do if the replicas' stream connections counted; they do not.
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 2; ++i) {
        held.push_back(std::make_unique<RawConnection>(c.master().port()));
        held.back()->send("GET /health HTTP/1.1\r\n");
    }
    std::this_thread::sleep_for(300ms);  // the master accepts them (not a bound)

    // Forwarded writes open new connections to the master: they show the cluster token
    // and are let in past the cap.
    for (int r = 1; r <= 2; ++r) {
        auto write = c.exec(c.replica(r), "INSERT INTO t(v) VALUES ('forwarded')");
        INFO(write.describe());
        CHECK(write.ok());
    }
    held.clear();
    // The master frees their slots once it reads their end; until then a client (such as
    // this harness) is still over the cap.
    for (auto deadline = Clock::now() + 10s;; std::this_thread::sleep_for(20ms)) {
        try {
            if (c.get(c.master(), "/health").status == 200) break;
        } catch (const std::exception&) {
            if (Clock::now() > deadline) throw;
        }
    }
    c.wait_converged();
    CHECK(c.rows(c.replica(2), "SELECT count(*) FROM t").at(0).as_array().at(0) == json::value(2));
    check_nodes_unhurt(c);
}
