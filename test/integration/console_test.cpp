// The web console (issue #19) in a real browser: Debian's Chromium, headless, driven by
// puppeteer-core (npm, the version pinned in test/console/package-lock.json, installed with
// `npm ci` into the build tree once) running test/console/console.js against real clusters:
// an open one (query and grid, insert on the master seen on a replica, the cluster panel in
// sync, the lag chart moving while a replica is paused under write load), one with --auth
// (the token dialog; a read token sees no write action; an admin hands the master role
// over, behind a confirmation) and one over https with mutual TLS between the nodes.
//
// Each step of the script is an assertion; this side checks that every step passed and
// that its screenshot exists. Screenshots are saved under <build>/console_screenshots/<mode>/
// and their paths printed. The script is bounded by `timeout` and its own watchdog; the
// browser it started is killed here by its pid if it outlived the script. All traffic
// stays on 127.0.0.1 (Chromium resolves no other host).

#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cluster.hpp"

namespace {

using namespace sqlrep::test;
namespace fs = std::filesystem;

std::string chromium_path() {
    const char* env = std::getenv("SQLREP_CHROMIUM");
    return env != nullptr && *env != '\0' ? env : "/usr/bin/chromium";
}

// npm ci of puppeteer-core into the build tree (once), with the script beside it.
fs::path install_driver() {
    const fs::path work = SQLREP_CONSOLE_TEST_WORK;
    install_npm_package(SQLREP_CONSOLE_TEST_SRC, work,
                        {"package.json", "package-lock.json", "console.js"}, "puppeteer-core");
    INFO("this test needs Chromium at "
         << chromium_path() << " (Debian's chromium package; scripts/test installs it)");
    REQUIRE(fs::exists(chromium_path()));
    return work;
}

// The browser the script started, if it still runs: killed by its pid, after checking that
// the pid is still that browser (its command line names our profile directory).
void kill_browser(const fs::path& pid_file, const fs::path& profile) {
    std::ifstream in(pid_file);
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 1) return;
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (text.find(profile.string()) != std::string::npos) ::kill(pid, SIGKILL);
}

struct ScriptRun {
    CommandRun run;
    fs::path screenshots;
};

// Runs console.js in `mode` with `config` (urls and mode-specific fields added by the
// caller) and returns its output. The browser profile is a fresh temp dir.
ScriptRun run_console(const std::string& mode, json::object config) {
    fs::path work = install_driver();
    fs::path screenshots = fs::path(SQLREP_CONSOLE_SCREENSHOTS) / mode;
    fs::remove_all(screenshots);
    fs::create_directories(screenshots);
    std::string pattern = (fs::temp_directory_path() / "sqlrep-console-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    fs::path dir = pattern;
    config["mode"] = mode;
    config["chromium"] = chromium_path();
    config["profile"] = (dir / "profile").string();
    config["pid_file"] = (dir / "browser.pid").string();
    config["screenshots"] = screenshots.string();
    fs::path config_file = dir / "config.json";
    std::ofstream(config_file) << json::serialize(config);

    ScriptRun out;
    out.screenshots = screenshots;
    out.run = run_command(
        "node '" + (work / "console.js").string() + "' '" + config_file.string() + "'", true, 170);
    kill_browser(dir / "browser.pid", dir / "profile");
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    std::cout << "console.js " << mode << ":\n" << out.run.output << std::flush;
    return out;
}

// Every step named passed, and every screenshot the script printed exists.
void check_steps(const ScriptRun& s, const std::vector<std::string>& steps) {
    INFO(s.run.output);
    CHECK(s.run.exit_code == 0);
    for (const auto& step : steps) CHECK(s.run.output.find("PASS " + step) != std::string::npos);
    std::istringstream lines(s.run.output);
    int shots = 0;
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("screenshot ", 0) == 0) {
            ++shots;
            CHECK(fs::file_size(line.substr(11)) > 1000);
        }
    CHECK(shots > 0);
}

}  // namespace

TEST_CASE(
    "the web console queries, shows a replicated row, the cluster in sync and the lag "
    "chart moving, in headless Chromium",
    "[integration][console][slow]") {
    ClusterOptions options;
    options.replicas = 2;
    Cluster c(options);
    pid_t paused = c.replica(2).pid();
    json::object config{
        {"urls", json::array{c.master().url(), c.replica(1).url(), c.replica(2).url()}},
        {"stop_pid", paused}};
    ScriptRun s = run_console("cluster", std::move(config));
    ::kill(paused, SIGCONT);  // the script resumes it; this covers a script killed midway
    check_steps(s, {"the console opens on GET / of the master, role admin on an open node",
                    "insert through the console on the master", "an error shows the API's message",
                    "the history keeps each statement with its params in the browser",
                    "run a query on a replica and read the grid: the row inserted on the master "
                    "is there",
                    "the cluster panel reports every node in sync",
                    "the lag chart moves under load and falls back"});
    c.wait_converged();
    c.check_same_checksums();
}

TEST_CASE(
    "the web console asks for a token under --auth, offers a read token no write action "
    "and an admin its actions behind a confirmation",
    "[integration][console][slow]") {
    const std::string read = "console-read-" + random_hex(16);
    const std::string write = "console-write-" + random_hex(16);
    const std::string admin = "console-admin-" + random_hex(16);
    ClusterOptions options;
    options.replicas = 2;
    options.auth = "[{\"token\": \"" + read + "\", \"role\": \"read\"}, {\"token\": \"" + write +
                   "\", \"role\": \"write\"}, {\"token\": \"" + admin + "\", \"role\": \"admin\"}]";
    options.client_token = admin;
    options.peers = true;  // the hand-over step: every node learns the new master
    Cluster c(options);
    json::object config{
        {"urls", json::array{c.master().url(), c.replica(1).url(), c.replica(2).url()}},
        {"read_token", read},
        {"write_token", write},
        {"admin_token", admin}};
    ScriptRun s = run_console("auth", std::move(config));
    check_steps(s, {"with --auth the console asks for a token",
                    "a wrong token is refused with the API's words",
                    "logged in with a read token: queries run, no write action is offered",
                    "a write token gets the write action",
                    "an admin token gets the admin actions behind a confirmation: hand over to "
                    "node 1"});
}

TEST_CASE("the web console works over https, between nodes with mutual TLS",
          "[integration][console][tls][slow]") {
    std::string pattern = (fs::temp_directory_path() / "sqlrep-console-pki-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    fs::path pki = pattern;
    auto file = [&](const char* name) { return "'" + (pki / name).string() + "'"; };
    auto openssl = [&](const std::string& args) {
        CommandRun run = run_command("openssl " + args);
        INFO("openssl " << args << ":\n" << run.output);
        REQUIRE(run.exit_code == 0);
    };
    // A CA, and a certificate it signs for 127.0.0.1 that serves and presents (mutual TLS:
    // the cluster overview asks the other nodes with it).
    openssl(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=console-ca -keyout " +
        file("ca.key") + " -out " + file("ca.crt"));
    openssl(
        "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=node "
        "-keyout " +
        file("node.key") + " -out " + file("node.csr"));
    std::ofstream(pki / "node.ext") << "subjectAltName=IP:127.0.0.1\n"
                                       "extendedKeyUsage=serverAuth,clientAuth\n";
    openssl("x509 -req -days 2 -in " + file("node.csr") + " -CA " + file("ca.crt") + " -CAkey " +
            file("ca.key") + " -CAcreateserial -extfile " + file("node.ext") + " -out " +
            file("node.crt"));
    ClusterOptions options;
    options.replicas = 1;
    options.tls_cert = (pki / "node.crt").string();
    options.tls_key = (pki / "node.key").string();
    options.tls_ca = (pki / "ca.crt").string();
    {
        Cluster c(options);
        REQUIRE(c.master().url().rfind("https://", 0) == 0);
        json::object config{{"urls", json::array{c.master().url(), c.replica(1).url()}}};
        ScriptRun s = run_console("tls", std::move(config));
        check_steps(s, {"the console works over https, cluster panel in sync"});
    }
    std::error_code ignored;
    fs::remove_all(pki, ignored);
}
