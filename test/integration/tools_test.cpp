// show_all and send_dummy against a real cluster: the verdicts and exit statuses an
// operator relies on (0 in sync, 2 diverged, 3 unreachable, 4 split brain), finding the
// master wherever it is (#17), --json, and send_dummy's sample requests and load summary.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace sqlrep::test;
namespace json = boost::json;

namespace {

// Runs a tool from the build's bin dir and collects its stdout.
CommandRun run_tool(const std::string& tool, const std::string& args) {
    return run_command(binary_path(tool) + " " + args, /*with_stderr=*/false);
}

std::string node_list(Cluster& cluster) {
    std::string list;
    for (Node* node : cluster.nodes()) list += (list.empty() ? "" : ",") + node->url();
    return list;
}

// A stand-in node for show_all: answers GET /status and GET /checksum with the bodies it
// was given and every POST (show_all's row samples) with no rows; one connection at a time,
// each closed after its answer. Lets a test show nodes in states a real cluster holds only
// for moments (two masters). Its own thread; the destructor stops and joins it.
class FakeNode {
  public:
    FakeNode(json::object status, json::object checksum)
        : status_(json::serialize(status)), checksum_(json::serialize(checksum)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("FakeNode: cannot listen on 127.0.0.1");
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeNode() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    FakeNode(const FakeNode&) = delete;
    FakeNode& operator=(const FakeNode&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            int client = ::accept(fd_, nullptr, nullptr);
            if (client < 0) continue;
            timeval two_seconds{2, 0};
            ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
            answer(client);
            ::close(client);
        }
    }

    void answer(int client) {
        std::string request;
        char buffer[4096];
        size_t end = std::string::npos;
        while ((end = request.find("\r\n\r\n")) == std::string::npos) {
            ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
            if (n <= 0) return;
            request.append(buffer, static_cast<size_t>(n));
        }
        // Drain the body so that closing does not reset the connection before the answer.
        size_t body = 0;
        for (const char* name : {"Content-Length: ", "content-length: "})
            if (size_t at = request.find(name); at != std::string::npos)
                body = std::stoul(request.substr(at + std::string(name).size()));
        while (request.size() < end + 4 + body) {
            ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
            if (n <= 0) return;
            request.append(buffer, static_cast<size_t>(n));
        }
        std::string reply = R"({"ok":true,"columns":[],"rows":[]})";
        if (request.rfind("GET /status ", 0) == 0) reply = status_;
        if (request.rfind("GET /checksum ", 0) == 0) reply = checksum_;
        std::string response =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Connection: close\r\nContent-Length: " +
            std::to_string(reply.size()) + "\r\n\r\n" + reply;
        ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
    }

    // fixed after construction
    std::string status_;
    std::string checksum_;
    int fd_ = -1;
    uint16_t port_ = 0;

    std::atomic<bool> stop_{false};
    std::thread thread_;
};

int64_t term_of(const json::object& status) { return status.at("term").to_number<int64_t>(); }

}  // namespace

TEST_CASE("show_all reports a cluster in sync with exit 0 and the verdict line",
          "[integration][tools]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    cluster.exec_ok(cluster.replica(1), "INSERT INTO fruit (name) VALUES ('apple'), ('pear')");
    int64_t index = cluster.master_index();

    CommandRun run = run_tool("show_all", "--nodes " + node_list(cluster));
    INFO(run.output);
    CHECK(run.exit_code == 0);
    CHECK(run.output.find("IN SYNC at index " + std::to_string(index)) != std::string::npos);
    CHECK(run.output.find("apple") != std::string::npos);
    CHECK(run.output.find("_sqlrep_") == std::string::npos);

    CommandRun as_json = run_tool("show_all", "--json --nodes " + node_list(cluster));
    INFO(as_json.output);
    CHECK(as_json.exit_code == 0);
    boost::system::error_code ec;
    json::value parsed = json::parse(as_json.output, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(parsed.is_object());
    CHECK(parsed.as_object().at("nodes").as_array().size() == 3);
}

TEST_CASE("show_all names the table that differs on a replica changed behind sqlrep's back",
          "[integration][tools]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    cluster.exec_ok(cluster.master(), "INSERT INTO fruit (name) VALUES ('apple'), ('pear')");
    cluster.wait_converged();

    cluster.replica(2).terminate();
    tamper(cluster.database_path(2), "UPDATE fruit SET name = 'plum' WHERE id = 1");
    cluster.replica(2).start();
    cluster.replica(2).wait_ready();

    CommandRun run = run_tool("show_all", "--wait 5 --nodes " + node_list(cluster));
    INFO(run.output);
    CHECK(run.exit_code == 2);
    CHECK(run.output.find("DIVERGED: fruit differs on " + cluster.replica(2).url()) !=
          std::string::npos);
}

TEST_CASE("show_all reports a stopped node as unreachable with exit 3", "[integration][tools]") {
    Cluster cluster;
    cluster.exec_ok(cluster.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    std::string nodes = node_list(cluster);
    cluster.replica(1).kill();

    CommandRun run = run_tool("show_all", "--wait 2 --nodes " + nodes);
    INFO(run.output);
    CHECK(run.exit_code == 3);
    CHECK(run.output.find("UNREACHABLE: " + cluster.replica(1).url()) != std::string::npos);
}

TEST_CASE("send_dummy sends the sample requests and a row load that reaches every node",
          "[integration][tools]") {
    Cluster cluster;
    CommandRun sample = run_tool("send_dummy", "--node " + cluster.master().url());
    INFO(sample.output);
    CHECK(sample.exit_code == 0);
    CHECK(sample.output.find("alice") != std::string::npos);

    // Through a replica: the tool creates its table on the master, then loads rows.
    CommandRun load = run_tool("send_dummy", "--node " + cluster.replica(1).url() +
                                                 " --rows 300 --concurrency 4 --ack all");
    INFO(load.output);
    CHECK(load.exit_code == 0);
    CHECK(load.output.find("300 ok") != std::string::npos);
    cluster.wait_converged();
    json::array counts = cluster.check_identical("SELECT count(*) FROM dummy");
    CHECK(counts.at(0).as_array().at(0).as_int64() == 300);
    cluster.check_same_checksums();
}

TEST_CASE("show_all and send_dummy pass --token to nodes started with --auth",
          "[integration][tools][security]") {
    const std::string admin = "tools-admin-" + random_hex(16);
    const std::string reader = "tools-reader-" + random_hex(16);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = json::serialize(json::array{json::object{{"token", admin}, {"role", "admin"}},
                                               json::object{{"token", reader}, {"role", "read"}}});
    options.client_token = admin;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE tokened (v INTEGER)");

    // Without a token every node answers 401: show_all cannot read them.
    CHECK(run_tool("show_all", "--nodes " + node_list(c) + " --wait 5").exit_code == 3);
    // A read token is enough to compare the nodes.
    CommandRun shown =
        run_tool("show_all", "--nodes " + node_list(c) + " --wait 20 --token " + reader);
    INFO(shown.output);
    CHECK(shown.exit_code == 0);
    CHECK(shown.output.find("IN SYNC") != std::string::npos);

    // send_dummy writes with a token that may, through the replica, and fails with one that may
    // not.
    CHECK(run_tool("send_dummy", "--node " + c.replica(1).url() +
                                     " --exec 'INSERT INTO tokened VALUES (1)' --token " + admin)
              .exit_code == 0);
    CHECK(run_tool("send_dummy", "--node " + c.replica(1).url() +
                                     " --exec 'INSERT INTO tokened VALUES (2)' --token " + reader)
              .exit_code != 0);
    CHECK(run_tool("send_dummy",
                   "--node " + c.master().url() + " --rows 20 --concurrency 2 --token " + admin)
              .exit_code == 0);
    c.wait_converged();
    CHECK(c.rows(c.replica(1), "SELECT count(*) FROM tokened").at(0).as_array().at(0) ==
          json::value(1));
    CHECK(c.rows(c.replica(1), "SELECT count(*) FROM dummy").at(0).as_array().at(0) ==
          json::value(20));
    c.check_same_checksums();
}

TEST_CASE("bench --nodes measures a cluster started with --auth when given --token",
          "[integration][tools][security]") {
    const std::string admin = "bench-admin-" + random_hex(16);
    ClusterOptions options;
    options.replicas = 1;
    options.auth = json::serialize(json::array{json::object{{"token", admin}, {"role", "admin"}}});
    options.client_token = admin;
    Cluster c(options);
    const std::string short_run =
        " --duration 0.2 --concurrency 2 --keys 100 --nodes " + node_list(c);

    CommandRun refused = run_command(binary_path("bench") + short_run, /*with_stderr=*/true);
    INFO(refused.output);
    CHECK(refused.exit_code != 0);
    CHECK(refused.output.find("--token") != std::string::npos);

    CommandRun measured = run_tool("bench", short_run + " --json --token " + admin);
    INFO(measured.output);
    REQUIRE(measured.exit_code == 0);
    json::object report = json::parse(measured.output).as_object();
    CHECK(report.at("sqlrep_writes").as_object().at("errors") == json::value(0));
    CHECK(report.at("sqlrep_writes").as_object().at("ok").to_number<int64_t>() > 0);
    CHECK(report.at("sqlrep_reads").as_object().at("ok").to_number<int64_t>() > 0);
    c.wait_converged();
    // The 100 keys bench fills, and the lag probe's own row.
    CHECK(c.rows(c.replica(1), "SELECT count(*) FROM kv WHERE k LIKE 'key-%'")
              .at(0)
              .as_array()
              .at(0) == json::value(100));
    c.check_same_checksums();
}

TEST_CASE("show_all finds the master after a handover to a replica and reports it in sync",
          "[integration][tools][failover]") {
    ClusterOptions options;
    options.peers = true;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    c.exec_ok(c.replica(2), "INSERT INTO fruit (name) VALUES ('apple'), ('pear')");
    c.wait_converged();

    NodeClient client = c.client(c.master());
    Response handover =
        client.request(boost::beast::http::verb::post, "/_cluster/handover", R"({"id":1})",
                       {{"X-Sqlrep-Token", c.token()}, {"Content-Type", "application/json"}});
    INFO("handover to node 1: " << handover.describe());
    REQUIRE(handover.ok());
    REQUIRE(c.wait_for_master(20s) == 1);
    c.wait_following(0, 1);
    c.wait_following(2, 1);
    c.exec_ok(c.replica(2), "INSERT INTO fruit (name) VALUES ('plum')");
    const int64_t term = term_of(c.status(c.replica(1)));

    CommandRun run = run_tool("show_all", "--no-color --nodes " + node_list(c));
    INFO(run.output);
    CHECK(run.exit_code == 0);
    CHECK(run.output.find("== " + c.replica(1).url() + " (master, term " + std::to_string(term)) !=
          std::string::npos);
    CHECK(run.output.find("== " + c.master().url() + " (replica, term " + std::to_string(term)) !=
          std::string::npos);
    CHECK(run.output.find("IN SYNC at index " + std::to_string(c.master_index(&c.replica(1)))) !=
          std::string::npos);
    CHECK(run.output.find("WARNING") == std::string::npos);
    CHECK(run.output.find("NOTE") == std::string::npos);

    CommandRun as_json = run_tool("show_all", "--json --nodes " + node_list(c));
    INFO(as_json.output);
    CHECK(as_json.exit_code == 0);
    json::object doc = json::parse(as_json.output).as_object();
    CHECK(doc.at("master") == json::value(c.replica(1).url()));
    CHECK(doc.at("verdict") == json::value("in_sync"));
    const json::array& masters = doc.at("masters").as_array();
    REQUIRE(masters.size() == 1);
    CHECK(masters.at(0).at("node") == json::value(c.replica(1).url()));
    CHECK(masters.at(0).at("term").to_number<int64_t>() == term);
    const json::array& nodes = doc.at("nodes").as_array();
    REQUIRE(nodes.size() == 3);
    CHECK(nodes.at(0).at("role") == json::value("replica"));
    CHECK(nodes.at(1).at("role") == json::value("master"));
    CHECK(nodes.at(2).at("role") == json::value("replica"));
    for (const auto& node : nodes) CHECK(node.at("term").to_number<int64_t>() == term);
}

TEST_CASE(
    "show_all warns when two nodes claim the master role and exits 4 only when they share "
    "a term",
    "[integration][tools][failover]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster c(options);
    c.exec_ok(c.master(), "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT)");
    c.exec_ok(c.master(), "INSERT INTO fruit (name) VALUES ('apple')");
    c.wait_converged();
    json::object status = c.status(c.master());
    const json::object checksum = c.checksums(c.master());
    const int64_t term = term_of(status);
    const std::string nodes = node_list(c);

    SECTION("a master of a higher term is the reference; the old one is a transition") {
        status["term"] = term + 1;
        FakeNode newer(status, checksum);
        CommandRun run = run_tool("show_all", "--no-color --nodes " + nodes + "," + newer.url());
        INFO(run.output);
        CHECK(run.exit_code == 0);
        CHECK(run.output.find("WARNING: 2 nodes claim the master role: " + c.master().url() +
                              " (term " + std::to_string(term) + "), " + newer.url() + " (term " +
                              std::to_string(term + 1) + ")") != std::string::npos);
        CHECK(run.output.find("SPLIT BRAIN") == std::string::npos);
        CHECK(run.output.find("IN SYNC") != std::string::npos);

        CommandRun as_json = run_tool("show_all", "--json --nodes " + nodes + "," + newer.url());
        INFO(as_json.output);
        CHECK(as_json.exit_code == 0);
        json::object doc = json::parse(as_json.output).as_object();
        CHECK(doc.at("master") == json::value(newer.url()));
        CHECK(doc.at("masters").as_array().size() == 2);
        CHECK(doc.at("verdict") == json::value("in_sync"));
    }
    SECTION("two masters in the same term are split brain") {
        FakeNode twin(status, checksum);
        CommandRun run = run_tool("show_all", "--no-color --nodes " + nodes + "," + twin.url());
        INFO(run.output);
        CHECK(run.exit_code == 4);
        CHECK(run.output.find("WARNING: 2 nodes claim the master role") != std::string::npos);
        CHECK(run.output.find("SPLIT BRAIN") != std::string::npos);
        CHECK(run.output.find("IN SYNC") == std::string::npos);

        CommandRun as_json = run_tool("show_all", "--json --nodes " + twin.url() + "," + nodes);
        INFO(as_json.output);
        CHECK(as_json.exit_code == 4);
        json::object doc = json::parse(as_json.output).as_object();
        CHECK(doc.at("verdict") == json::value("split_brain"));
        CHECK(doc.at("exit_code") == json::value(4));
        const json::array& masters = doc.at("masters").as_array();
        REQUIRE(masters.size() == 2);
        CHECK(masters.at(0).at("node") == json::value(twin.url()));
        CHECK(masters.at(1).at("node") == json::value(c.master().url()));
    }
    SECTION("with no node claiming the master role the first node is the reference") {
        status["role"] = "replica";
        FakeNode lone(status, checksum);
        CommandRun run =
            run_tool("show_all", "--no-color --nodes " + lone.url() + "," + c.replica(1).url());
        INFO(run.output);
        CHECK(run.exit_code == 0);
        CHECK(run.output.find("NOTE: no node claims the master role; the others were compared "
                              "against " +
                              lone.url()) != std::string::npos);
    }
}
