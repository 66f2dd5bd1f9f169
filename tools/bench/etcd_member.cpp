#include "etcd_member.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "interrupt.hpp"
#include "shared/http_client.hpp"

namespace sqlrep::bench {

namespace {

using namespace std::chrono_literals;
constexpr const char* kEtcd = "/usr/bin/etcd";

void install_if_missing() {
    if (::access(kEtcd, X_OK) == 0) return;
    std::cerr << "bench: etcd missing, installing Debian's etcd-server ...\n";
    FILE* pipe = ::popen("DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server 2>&1", "r");
    if (!pipe) throw std::runtime_error("popen failed: apt-get install etcd-server");
    std::string out;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    if (::pclose(pipe) != 0 || ::access(kEtcd, X_OK) != 0)
        throw std::runtime_error("apt-get install etcd-server failed:\n" + out);
}

}  // namespace

std::unique_ptr<EtcdMember> EtcdMember::start() {
    install_if_missing();
    std::unique_ptr<EtcdMember> member(new EtcdMember);
    member->dir_ = std::make_unique<ScratchDir>("bench-etcd");
    auto ports = free_ports(2);
    member->url_ = "http://127.0.0.1:" + std::to_string(ports[0]);
    const std::string peer = "http://127.0.0.1:" + std::to_string(ports[1]);
    std::vector<std::string> args{"--name=bench",
                                  "--data-dir=" + member->dir_->sub("data"),
                                  "--listen-client-urls=" + member->url_,
                                  "--advertise-client-urls=" + member->url_,
                                  "--listen-peer-urls=" + peer,
                                  "--initial-advertise-peer-urls=" + peer,
                                  "--initial-cluster=bench=" + peer,
                                  "--initial-cluster-state=new",
                                  "--logger=zap",
                                  "--log-outputs=stderr"};
    member->process_ =
        std::make_unique<ChildProcess>("etcd", kEtcd, args, member->dir_->sub("etcd.log"));

    HttpClient client(member->url_);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::string last = "no answer";
    for (;;) {
        if (!member->process_->running())
            throw std::runtime_error("etcd exited at start; log:\n" +
                                     member->process_->log_tail(20));
        try {
            HttpResult health = client.get("/health", 1s);
            if (health.status == 200 && health.body.find("\"true\"") != std::string::npos)
                return member;
            last = "HTTP " + std::to_string(health.status) + " " + health.body;
        } catch (const std::exception& e) {
            last = e.what();
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("etcd not healthy within 30 s (" + last + "); log:\n" +
                                     member->process_->log_tail(20));
        interrupt::sleep_for(50ms);
    }
}

EtcdMember::~EtcdMember() {
    if (process_) process_->kill();
}

}  // namespace sqlrep::bench
