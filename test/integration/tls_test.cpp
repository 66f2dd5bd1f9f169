// TLS end to end: a cluster serving HTTPS/WSS with mutual TLS between nodes replicates
// and forwards; plain HTTP to a TLS port fails without harm; a replica whose certificate
// another CA signed is refused; node-to-node requests without a client certificate are
// refused; bad TLS flags stop a node at startup; the tools speak https.
//
// Certificates are made per test run with the openssl command-line tool in a temp dir.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "shared/error.hpp"
#include "shared/tls_context.hpp"

using namespace sqlrep::test;

namespace {

// A throwaway PKI: the cluster's CA with a node certificate for IP 127.0.0.1 (server and
// client use), and an unrelated CA with a "rogue" certificate for the same address.
class TestPki {
  public:
    TestPki() {
        std::string pattern = "/tmp/sqlrep-pki-XXXXXX";
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        make_ca("ca");
        make_cert("node", "ca", "IP:127.0.0.1");
        make_ca("other_ca");
        make_cert("rogue", "other_ca", "IP:127.0.0.1");
        make_cert("wrong_host", "ca", "IP:127.0.0.2");
    }
    ~TestPki() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;

    std::string cert(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
    std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

  private:
    void openssl(const std::string& args) {
        CommandRun run = run_command("openssl " + args);
        if (run.exit_code != 0) throw std::runtime_error("openssl " + args + ": " + run.output);
    }
    void make_ca(const std::string& name) {
        openssl(
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
            name + " -keyout " + key(name) + " -out " + cert(name));
    }
    void make_cert(const std::string& name, const std::string& ca, const std::string& san) {
        std::string ext = dir_ + "/" + name + ".ext";
        std::ofstream(ext)
            << "subjectAltName=" << san
            << "\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n";
        openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
                " -keyout " + key(name) + " -out " + dir_ + "/" + name + ".csr");
        openssl("x509 -req -days 2 -in " + dir_ + "/" + name + ".csr -CA " + cert(ca) + " -CAkey " +
                key(ca) + " -CAcreateserial -extfile " + ext + " -out " + cert(name));
    }

    std::string dir_;
};

ClusterOptions tls_options(const TestPki& pki, int replicas, bool mutual) {
    ClusterOptions options;
    options.replicas = replicas;
    options.tls_cert = pki.cert("node");
    options.tls_key = pki.key("node");
    if (mutual) options.tls_ca = pki.cert("ca");
    return options;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Polls until `done` holds; false when `timeout` passes first.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = kApplyTimeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(100ms);
    }
    return done();
}

}  // namespace

TEST_CASE("a mutual-TLS cluster replicates and forwards writes over https", "[tls][integration]") {
    TestPki pki;
    Cluster cluster(tls_options(pki, 2, /*mutual=*/true));
    REQUIRE(cluster.master().url().rfind("https://", 0) == 0);

    cluster.exec_ok(cluster.master(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    cluster.exec_ok(cluster.master(), "INSERT INTO t(v) VALUES ('from master')");
    // Through the replicas: forwarded to the master over https with their certificates.
    cluster.exec_ok(cluster.replica(1), "INSERT INTO t(v) VALUES ('via replica 1')");
    cluster.exec_ok(cluster.replica(2), "INSERT INTO t(v) VALUES ('via replica 2')");

    cluster.wait_converged();
    CHECK(cluster.check_identical("SELECT id, v FROM t ORDER BY id").size() == 3);
    cluster.check_same_checksums();
    CHECK(std::string(cluster.status(cluster.master()).at("master").as_string())
              .rfind("https://", 0) == 0);
}

TEST_CASE("plain http to a TLS node fails and the node keeps serving", "[tls][integration]") {
    TestPki pki;
    Cluster cluster(tls_options(pki, 1, /*mutual=*/false));
    std::string plain = "http://127.0.0.1:" + std::to_string(cluster.master().port());

    for (int i = 0; i < 3; ++i) {
        sqlrep::HttpClient client(plain);
        CHECK_THROWS_AS(client.get("/health", 5s), sqlrep::Error);
    }
    // A TLS client that stops half way through its handshake is dropped as well.
    CommandRun garbage = run_command(
        "printf '\\x16\\x03\\x01\\x00' | timeout 15 openssl s_client "
        "-connect 127.0.0.1:" +
        std::to_string(cluster.master().port()) + " -quiet </dev/null");
    (void)garbage;

    cluster.exec_ok(cluster.master(), "CREATE TABLE t (v INTEGER)");
    cluster.exec_ok(cluster.replica(1), "INSERT INTO t VALUES (1)");
    cluster.wait_converged();
    cluster.check_same_checksums();
    CHECK(cluster.master().running());
}

TEST_CASE("with --tls-ca a client that resumes its TLS session is served", "[tls][integration]") {
    // Browsers resume the session of their first connection on the next ones; with peer
    // verification on, OpenSSL refused that (alert 80) until the server set a session id
    // context.
    TestPki pki;
    Cluster cluster(tls_options(pki, 1, /*mutual=*/true));
    std::string session = pki.cert("node") + ".session";
    auto connect = [&](const std::string& session_flag) {
        // stdin stays open a second after the request, so the answer (and the session
        // ticket) arrive before s_client quits.
        return run_command(
            "sh -c \"(printf 'GET /health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'; "
            "sleep 1) | openssl s_client -connect 127.0.0.1:" +
            std::to_string(cluster.master().port()) + " -CAfile " + pki.cert("ca") + " " +
            session_flag + " " + session + "\"");
    };
    CommandRun first = connect("-sess_out");
    INFO(first.output);
    REQUIRE(first.output.find("HTTP/1.1 200") != std::string::npos);
    CommandRun second = connect("-sess_in");
    INFO(second.output);
    CHECK(second.output.find("Reused,") != std::string::npos);
    CHECK(second.output.find("HTTP/1.1 200") != std::string::npos);
}

TEST_CASE("with --tls-ca a replica whose certificate another CA signed is refused",
          "[tls][integration]") {
    TestPki pki;
    ClusterOptions options = tls_options(pki, 3, /*mutual=*/true);
    options.ack = "quorum";
    Cluster cluster(options);
    cluster.exec_ok(cluster.master(), "CREATE TABLE t (v INTEGER)");
    cluster.wait_converged();

    // Replica 3 comes back with a certificate the cluster's CA never signed. It still
    // trusts the master (same --tls-ca), so only the master's check can stop it.
    Node& rogue = cluster.replica(3);
    rogue.kill();
    rogue.set_arg("--tls-cert", pki.cert("rogue"));
    rogue.set_arg("--tls-key", pki.key("rogue"));
    rogue.start();
    rogue.wait_ready();  // its own HTTPS port serves ordinary clients

    cluster.exec_ok(cluster.master(), "INSERT INTO t VALUES (1)");
    cluster.exec_ok(cluster.replica(1), "INSERT INTO t VALUES (2)");
    int64_t index = cluster.master_index();

    // The good replicas follow; the rogue says in its log why it cannot.
    CHECK(eventually([&] {
        return cluster.status(cluster.replica(1)).at("applied_index").as_int64() >= index &&
               cluster.status(cluster.replica(2)).at("applied_index").as_int64() >= index;
    }));
    CHECK(eventually([&] {
        return read_file(rogue.log_path()).find("refused our TLS connection") != std::string::npos;
    }));
    json::object rogue_status = cluster.status(rogue);
    CHECK(rogue_status.at("state").as_string() == "connecting");
    CHECK(rogue_status.at("applied_index").as_int64() < index);

    // Its forwarded writes are refused too: the client gets a 503, nothing is written.
    Response forwarded = cluster.exec(rogue, "INSERT INTO t VALUES (3)");
    CHECK(forwarded.status == 503);
    CHECK(forwarded.error().find("TLS") != std::string::npos);
    CHECK(cluster.rows(cluster.master(), "SELECT count(*) FROM t WHERE v = 3")[0]
              .as_array()[0]
              .as_int64() == 0);
    CHECK(read_file(cluster.master().log_path()).find("TLS handshake from") != std::string::npos);
}

TEST_CASE("with --tls-ca node-to-node requests without a client certificate are refused",
          "[tls][integration]") {
    TestPki pki;
    Cluster cluster(tls_options(pki, 1, /*mutual=*/true));
    // The right cluster token is not enough without a certificate.
    NodeClient client(cluster.master().url());
    Response r = client.post(json::object{{"command", "exec"}, {"query", "CREATE TABLE x (v)"}},
                             {{"X-Sqlrep-Token", cluster.token()}, {"X-Sqlrep-Forwarded-By", "1"}});
    CHECK(r.status == 403);
    CHECK(r.error().find("client certificate") != std::string::npos);
    Response stream =
        client.request(boost::beast::http::verb::get, "/_cluster/stream?replica_id=1&from=0", "",
                       {{"X-Sqlrep-Token", cluster.token()},
                        {"Connection", "Upgrade"},
                        {"Upgrade", "websocket"},
                        {"Sec-WebSocket-Version", "13"},
                        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    CHECK(stream.status == 403);
    // Ordinary client requests need no certificate.
    CHECK(client.get("/health").ok());
    CHECK(cluster.exec(cluster.master(), "CREATE TABLE y (v)").ok());
}

TEST_CASE("bad TLS flags stop a node at startup with a clear message", "[tls][integration]") {
    TestPki pki;
    std::string dir =
        std::filesystem::temp_directory_path() / ("sqlrep-tls-flags-" + random_hex(8));
    std::string common = " --port 1 --data-dir " + dir + " --cluster-token t";
    struct Case {
        std::string flags;
        std::string message;
    } cases[] = {
        {" --tls-cert " + pki.cert("node"), "--tls-cert and --tls-key go together"},
        {" --tls-key " + pki.key("node"), "--tls-cert and --tls-key go together"},
        {" --tls-ca " + pki.cert("ca"), "--tls-ca needs --tls-cert"},
        {" --tls-cert /nonexistent.crt --tls-key " + pki.key("node"), "cannot read --tls-cert"},
        {" --tls-cert " + pki.cert("node") + " --tls-key " + pki.key("rogue"), "does not match"},
        {" --tls-cert " + pki.key("node") + " --tls-key " + pki.key("node"),
         "not a PEM certificate"},
        {" --tls-cert " + pki.cert("node") + " --tls-key " + pki.key("node") +
             " --tls-ca /nonexistent",
         "cannot read --tls-ca"},
    };
    for (const auto& c : cases) {
        for (std::string role : {"master 1", "replica 1 1"}) {
            std::string binary = binary_path(role.substr(0, role.find(' ')));
            CommandRun run = run_command(binary + role.substr(role.find(' ')) + common + c.flags);
            INFO(role << c.flags << "\n" << run.output);
            CHECK(run.exit_code != 0);
            CHECK(run.output.find(c.message) != std::string::npos);
        }
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

TEST_CASE("show_all and send_dummy speak https, verifying with --tls-ca", "[tls][integration]") {
    TestPki pki;
    Cluster cluster(tls_options(pki, 2, /*mutual=*/true));
    std::string nodes;
    for (Node* node : cluster.nodes()) nodes += (nodes.empty() ? "" : ",") + node->url();
    const std::string ca = " --tls-ca " + pki.cert("ca");

    CommandRun samples =
        run_command(binary_path("send_dummy") + " --node " + cluster.replica(1).url() + ca);
    INFO(samples.output);
    CHECK(samples.exit_code == 0);
    CommandRun load = run_command(binary_path("send_dummy") + " --node " + cluster.master().url() +
                                  " --rows 50 --concurrency 2" + ca);
    INFO(load.output);
    CHECK(load.exit_code == 0);
    cluster.wait_converged();

    CommandRun verified = run_command(binary_path("show_all") + " --nodes " + nodes + ca);
    INFO(verified.output);
    CHECK(verified.exit_code == 0);
    CHECK(verified.output.find("IN SYNC") != std::string::npos);

    // Without --tls-ca: encrypted, not verified, and it says so.
    CommandRun unverified = run_command(binary_path("show_all") + " --nodes " + nodes);
    INFO(unverified.output);
    CHECK(unverified.exit_code == 0);
    CHECK(unverified.output.find("not verifying") != std::string::npos);

    // A CA that did not sign the nodes' certificates: every node is unreachable (3).
    CommandRun wrong_ca = run_command(binary_path("show_all") + " --nodes " + nodes + " --tls-ca " +
                                      pki.cert("other_ca"));
    INFO(wrong_ca.output);
    CHECK(wrong_ca.exit_code == 3);
    CHECK(wrong_ca.output.find("certificate verify failed") != std::string::npos);
}

TEST_CASE("the sqlrep shell speaks https, verifying with --tls-ca", "[tls][integration][shell]") {
    TestPki pki;
    Cluster cluster(tls_options(pki, 1, /*mutual=*/true));
    const std::string ca = " --tls-ca " + pki.cert("ca");
    const std::string shell = binary_path("sqlrep") + " --mode csv";

    CommandRun master = run_command(shell + " --node " + cluster.master().url() + ca +
                                    " -c 'CREATE TABLE t (x); INSERT INTO t VALUES (7); "
                                    "SELECT x * 6 AS y FROM t;'");
    INFO(master.output);
    CHECK(master.exit_code == 0);
    CHECK(master.output.find("y\r\n42\r\n") != std::string::npos);
    // A write through the replica, forwarded to the master, then read there.
    CommandRun replica = run_command(shell + " --node " + cluster.replica(1).url() + ca +
                                     " -c 'INSERT INTO t VALUES (8); SELECT sum(x) AS s FROM t;'");
    INFO(replica.output);
    CHECK(replica.exit_code == 0);
    CHECK(replica.output.find("s\r\n15\r\n") != std::string::npos);

    // .nodes reaches the master and the replica over https with the same CA.
    CommandRun nodes =
        run_command(shell + " --node " + cluster.replica(1).url() + ca + " -c .nodes");
    INFO(nodes.output);
    CHECK(nodes.exit_code == 0);
    CHECK(nodes.output.find(cluster.master().url() + ",master") != std::string::npos);
    CHECK(nodes.output.find(cluster.replica(1).url() + ",replica") != std::string::npos);

    // Without --tls-ca: encrypted, not verified, and it says so; another CA: refused.
    CommandRun unverified =
        run_command(shell + " --node " + cluster.master().url() + " -c 'SELECT 1'");
    CHECK(unverified.exit_code == 0);
    CHECK(unverified.output.find("not verifying") != std::string::npos);
    CommandRun wrong_ca = run_command(shell + " --node " + cluster.master().url() + " --tls-ca " +
                                      pki.cert("other_ca") + " -c 'SELECT 1'");
    INFO(wrong_ca.output);
    CHECK(wrong_ca.exit_code == 1);
    CHECK(wrong_ca.output.find("certificate verify failed") != std::string::npos);
}

TEST_CASE("https clients check the node's address against its certificate", "[tls][integration]") {
    TestPki pki;
    ClusterOptions options;
    options.replicas = 1;
    options.tls_cert = pki.cert("wrong_host");  // names 127.0.0.2, served on 127.0.0.1
    options.tls_key = pki.key("wrong_host");
    Cluster cluster(options);

    sqlrep::TlsFiles files;
    files.ca = pki.cert("ca");
    sqlrep::HttpClient verifying(cluster.master().url(),
                                 sqlrep::ClientOptions{sqlrep::make_client_tls(files), ""});
    try {
        verifying.get("/health", 5s);
        FAIL("the mismatched address was accepted");
    } catch (const sqlrep::Error& e) {
        CHECK(std::string(e.what()).find("IP address mismatch") != std::string::npos);
    }
}
