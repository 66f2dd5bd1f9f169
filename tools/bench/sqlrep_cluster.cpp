#include "sqlrep_cluster.hpp"

#include <filesystem>

#include <random>
#include <stdexcept>
#include <thread>

#include "interrupt.hpp"
#include "shared/error.hpp"
#include "shared/http_client.hpp"
#include "shared/net.hpp"

namespace sqlrep::bench {

std::string random_cluster_token() {
    std::random_device random;
    std::string token;
    const char* hex = "0123456789abcdef";
    for (int i = 0; i < 64; ++i) token += hex[random() % 16];
    return token;
}

namespace {

using namespace std::chrono_literals;
constexpr auto kReadyTimeout = 60s;

std::string url_for(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

// The JSON body of GET `target` on `url`, or an exception.
json::object get_json(HttpClient& client, const std::string& target) {
    HttpResult result = client.get(target, 2s);
    if (result.status != 200)
        throw std::runtime_error("GET " + target + ": HTTP " + std::to_string(result.status));
    return json::parse(result.body).as_object();
}

}  // namespace

std::unique_ptr<SqlrepCluster> SqlrepCluster::start(const SqlrepLaunch& launch,
                                                    const std::vector<std::string>& extra_args) {
    std::unique_ptr<SqlrepCluster> cluster(new SqlrepCluster);
    cluster->dir_ = std::make_unique<ScratchDir>("bench-" + launch.name);
    const std::string data_dir = cluster->dir_->sub("data", true);
    cluster->data_dir_ = data_dir;
    cluster->replica_binary_ = launch.bin_dir + "/replica";
    const std::string token = random_cluster_token();
    const std::string n = std::to_string(launch.replicas);
    auto ports = free_ports(1 + launch.replicas);
    auto common = [&](uint16_t port) {
        std::vector<std::string> args{
            "--host",          "127.0.0.1", "--port", std::to_string(port), "--data-dir",  data_dir,
            "--cluster-token", token,       "--sync", launch.sync,          "--log-level", "warn"};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        return args;
    };

    cluster->master_url_ = url_for(ports[0]);
    std::vector<std::string> args{n};
    for (auto& arg : common(ports[0])) args.push_back(arg);
    cluster->processes_.push_back(std::make_unique<ChildProcess>(launch.name + "-master",
                                                                 launch.bin_dir + "/master", args,
                                                                 cluster->dir_->sub("master.log")));
    cluster->wait_ready(*cluster->processes_[0], cluster->master_url_, false);

    for (int id = 1; id <= launch.replicas; ++id) {
        const uint16_t port = ports[static_cast<size_t>(id)];
        cluster->replica_urls_.push_back(url_for(port));
        std::vector<std::string> replica_args{std::to_string(id), n, "--master",
                                              cluster->master_url_};
        for (auto& arg : common(port)) replica_args.push_back(arg);
        cluster->replica_args_.push_back(replica_args);
        cluster->processes_.push_back(std::make_unique<ChildProcess>(
            launch.name + "-replica-" + std::to_string(id), launch.bin_dir + "/replica",
            replica_args, cluster->dir_->sub("replica_" + std::to_string(id) + ".log")));
    }
    for (int id = 1; id <= launch.replicas; ++id)
        cluster->wait_ready(*cluster->processes_[static_cast<size_t>(id)],
                            cluster->replica_urls_[static_cast<size_t>(id - 1)], true);
    return cluster;
}

std::unique_ptr<SqlrepCluster> SqlrepCluster::attach(const std::vector<std::string>& urls,
                                                     const ClientOptions& options) {
    if (urls.empty()) throw std::invalid_argument("--nodes needs at least the master's URL");
    std::unique_ptr<SqlrepCluster> cluster(new SqlrepCluster);
    cluster->master_url_ = urls[0];
    cluster->replica_urls_.assign(urls.begin() + 1, urls.end());
    for (const auto& url : urls) {
        HttpClient client(url, options);
        // /health is open to anyone; /status checks the token as every request does.
        if (client.get("/status", 2s).status == 401)
            throw std::runtime_error(url +
                                     " was started with --auth: give bench a client token "
                                     "with the admin role (it creates its table), "
                                     "--token or $SQLREP_TOKEN");
        get_json(client, "/status");
    }
    return cluster;
}

void SqlrepCluster::rejoin_replica(int id) {
    auto i = static_cast<std::size_t>(id);
    if (data_dir_.empty() || i < 1 || i >= processes_.size())
        throw std::invalid_argument("rejoin_replica: no such replica started here");
    processes_[i]->kill();
    std::string db = data_dir_ + "/replica_" + std::to_string(id) + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    std::string name = processes_[i]->name();
    std::string log = processes_[i]->log_path();
    processes_[i] =
        std::make_unique<ChildProcess>(name, replica_binary_, replica_args_[i - 1], log);
    wait_ready(*processes_[i], replica_urls_[i - 1], false);
}

uint64_t SqlrepCluster::master_database_bytes() const {
    std::error_code ec;
    auto bytes = std::filesystem::file_size(data_dir_ + "/master.db", ec);
    return ec ? 0 : bytes;
}

SqlrepCluster::~SqlrepCluster() {
    for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) (*it)->kill();
}

void SqlrepCluster::wait_ready(ChildProcess& process, const std::string& url, bool replica) {
    HttpClient client(url);
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    std::string last_error = "no answer";
    while (std::chrono::steady_clock::now() < deadline) {
        interrupt::check();
        if (!process.running())
            throw std::runtime_error(process.name() + " exited during startup; log:\n" +
                                     process.log_tail(20));
        try {
            get_json(client, "/health");
            if (!replica) return;
            json::object status = get_json(client, "/status");
            if (status["state"] == "following") return;
            last_error = "state " + json::serialize(status["state"]);
        } catch (const std::exception& e) {
            last_error = e.what();
        }
        interrupt::sleep_for(50ms);
    }
    throw std::runtime_error(process.name() + " not ready after 60 s (" + last_error + "); log:\n" +
                             process.log_tail(20));
}

int64_t SqlrepCluster::applied_index(const std::string& url, const ClientOptions& options) {
    HttpClient client(url, options);
    return get_json(client, "/status")["applied_index"].to_number<int64_t>();
}

bool SqlrepCluster::wait_applied(const std::string& url, int64_t index,
                                 std::chrono::milliseconds timeout, const ClientOptions& options) {
    HttpClient client(url, options);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        interrupt::check();
        try {
            if (get_json(client, "/status")["applied_index"].to_number<int64_t>() >= index)
                return true;
        } catch (const std::exception&) {
            // the node is busy catching up or restarting its listener: keep polling
        }
        std::this_thread::sleep_for(1ms);
    }
    return false;
}

}  // namespace sqlrep::bench
