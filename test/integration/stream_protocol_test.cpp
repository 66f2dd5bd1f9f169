// The stream's protocol version (docs/PROTOCOL.md): nodes of different sqlrep versions
// refuse each other's stream with a message that names both versions, instead of
// misreading each other's frames. The master checks the replica's `proto`; the replica
// checks the master's X-Sqlrep-Stream-Protocol answer.

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cluster.hpp"
#include "shared/stream_messages.hpp"

namespace {

using namespace sqlrep::test;
namespace json = boost::json;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

// A master from before the protocol version: it accepts every stream upgrade without
// naming a version (and then sends nothing).
class OldMaster {
  public:
    OldMaster() : acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
        accept_next();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~OldMaster() {
        ioc_.stop();
        thread_.join();
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }

  private:
    void accept_next() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            auto ws = std::make_shared<websocket::stream<tcp::socket>>(std::move(socket));
            ws->async_accept([ws](boost::system::error_code) {});
            accept_next();
        });
    }

    net::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("the master refuses a stream of another protocol version, naming both", "[integration]") {
    ClusterOptions options;
    options.replicas = 1;
    Cluster c(options);
    NodeClient client(c.master().url());
    const std::map<std::string, std::string> upgrade = {
        {"X-Sqlrep-Token", c.token()},
        {"Connection", "Upgrade"},
        {"Upgrade", "websocket"},
        {"Sec-WebSocket-Version", "13"},
        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
    for (const auto& [query, sent] :
         {std::pair<std::string, std::string>{"", "1"}, {"&proto=3", "3"}, {"&proto=5", "5"}}) {
        Response r = client.request(http::verb::get, "/_cluster/stream?replica_id=1&from=0" + query,
                                    "", upgrade);
        INFO(query << ": " << r.describe());
        CHECK(r.status == 409);
        CHECK(r.error().find("speaks stream protocol " + sent + ", this master " +
                             std::to_string(sqlrep::kStreamProtocol)) != std::string::npos);
        CHECK(r.error().find("same sqlrep version") != std::string::npos);
    }
    // The real replica, of this version, still follows.
    int64_t index = c.exec_ok(c.master(), "CREATE TABLE after (v)");
    c.wait_all_applied(index);
}

TEST_CASE("a replica refuses a master that does not name the stream protocol", "[integration]") {
    OldMaster old;
    std::string dir = std::filesystem::temp_directory_path() / ("sqlrep-proto-" + random_hex(8));
    uint16_t port = free_ports(1)[0];
    struct Cleanup {  // after the replica is gone (it is declared after this)
        std::string dir;
        ~Cleanup() {
            std::error_code ignored;
            std::filesystem::remove_all(dir, ignored);
            std::filesystem::remove(dir + ".log", ignored);
        }
    } cleanup{dir};
    Node replica("replica_1", binary_path("replica"),
                 {"1", "1", "--host", "127.0.0.1", "--port", std::to_string(port), "--master",
                  old.url(), "--data-dir", dir, "--cluster-token", "t-" + random_hex(16)},
                 port, dir + ".log");
    replica.start();
    replica.wait_ready();

    NodeClient client(replica.url());
    auto deadline = Clock::now() + kApplyTimeout;
    json::object status;
    for (;;) {
        Response r = client.get("/status");
        REQUIRE(r.ok());
        status = r.body.as_object();
        if (status.at("last_error").as_string().find("the master speaks stream protocol 1") !=
            std::string::npos)
            break;
        INFO(json::serialize(status));
        REQUIRE(Clock::now() < deadline);
        std::this_thread::sleep_for(50ms);
    }
    INFO(json::serialize(status));
    CHECK(status.at("state") != json::value("following"));
    CHECK(status.at("applied_index") == json::value(0));
    CHECK(replica.log_tail(100).find("same sqlrep version") != std::string::npos);
}
