// show_all: prints every node's status and tables side by side, then whether the replicas
// hold exactly what the master holds. The master is whichever node's /status says so (the
// highest term wins; the first node when none does). Exit status: 0 in sync, 2 diverged,
// 3 a node unreachable, 4 two nodes claim the master role in the same term (split brain),
// 1 bad usage. See docs/API.md for the endpoints it reads.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "json_report.hpp"
#include "node_list.hpp"
#include "shared/build_info.hpp"
#include "shared/cluster_compare.hpp"
#include "shared/cluster_probe.hpp"
#include "shared/tls_context.hpp"
#include "terminal.hpp"
#include "text_report.hpp"

namespace {

std::chrono::milliseconds seconds_to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sqlrep;
    using namespace sqlrep::show_all;

    CLI::App app{
        "Show every sqlrep node's tables side by side and check that the replicas match the "
        "master.\n"
        "  show_all 3                      nodes on 127.0.0.1:8080, 8081, 8082\n"
        "  show_all --nodes URL,URL,...    any nodes\n"
        "The master is the node whose /status says so in the highest term (else the first).\n"
        "Exit status: 0 in sync, 2 diverged, 3 a node unreachable, 4 split brain (two masters\n"
        "in one term), 1 bad usage."};
    app.set_version_flag("--version", sqlrep::build_info::version_line("show_all"));
    int num_databases = 0;
    std::string nodes_text;
    int64_t limit = 20;
    double wait_seconds = 10;
    double timeout_seconds = 5;
    size_t max_width = 60;
    bool as_json = false;
    bool no_color = false;
    std::string tls_ca;
    std::string token = std::getenv("SQLREP_TOKEN") ? std::getenv("SQLREP_TOKEN") : "";

    auto* num_option =
        app.add_option("num_databases", num_databases,
                       "Number of nodes in the seed layout: node 0 on 8080, node 1 on 8081...")
            ->check(CLI::Range(1, 1000));
    app.add_option("--nodes", nodes_text,
                   "Comma-separated node URLs (http(s)://host:port), in any order")
        ->excludes(num_option);
    app.add_option("--limit", limit, "Rows shown per table")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--wait", wait_seconds,
                   "Seconds to wait for lagging replicas to reach the master's index")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--timeout", timeout_seconds, "Seconds allowed for each HTTP request")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--max-width", max_width, "Longest cell shown before it is cut")
        ->check(CLI::Range(size_t{4}, size_t{100000}))
        ->capture_default_str();
    app.add_flag("--json", as_json, "Print the facts as one JSON document instead of tables");
    app.add_flag("--no-color", no_color, "Never colour the output");
    app.add_option("--tls-ca", tls_ca,
                   "PEM CA that https nodes' certificates must chain to (without it https is "
                   "encrypted but not verified)");
    app.add_option("--token", token,
                   "Client token (read role is enough) for nodes started with --auth "
                   "(default: $SQLREP_TOKEN)");
    CLI11_PARSE(app, argc, argv);

    std::vector<std::string> addresses;
    try {
        if (!nodes_text.empty())
            addresses = parse_node_list(nodes_text);
        else if (num_databases > 0)
            addresses = seed_addresses(num_databases);
        else
            throw std::invalid_argument(
                "give the number of databases (e.g. show_all 3) or "
                "--nodes URL,URL,...; see --help");
    } catch (const std::invalid_argument& e) {
        std::cerr << "show_all: " << e.what() << '\n';
        return 1;
    }

    sqlrep::ClientOptions client_options;
    client_options.bearer_token = token;
    try {
        sqlrep::TlsFiles tls_files;
        tls_files.ca = tls_ca;
        client_options.tls = sqlrep::make_client_tls(tls_files);
    } catch (const std::exception& e) {
        std::cerr << "show_all: " << e.what() << '\n';
        return 1;
    }
    if (tls_ca.empty() && std::any_of(addresses.begin(), addresses.end(),
                                      [](const auto& a) { return a.rfind("https:", 0) == 0; }))
        std::cerr << "show_all: warning: not verifying the nodes' certificates (no --tls-ca)\n";

    ClusterProbe probe(addresses, seconds_to_ms(timeout_seconds), client_options);
    probe.probe();
    probe.wait_for_catch_up(seconds_to_ms(wait_seconds));
    Verdict verdict = compare_nodes(probe.nodes());

    if (as_json) {
        if (verdict.masters.size() > 1)
            std::cerr << "show_all: WARNING: " << verdict.masters.size()
                      << " nodes claim the master role (see \"masters\")\n";
        std::cout << json_report(probe.nodes(), verdict) << '\n';
        return verdict.exit_code();
    }

    probe.sample_tables(limit);
    Palette palette(!no_color && stdout_wants_color());
    TextReportOptions options;
    options.limit = limit;
    options.max_cell_width = max_width;
    print_nodes(std::cout, probe.nodes(), options, palette);
    print_summary(std::cout, probe.nodes(), verdict, palette);
    print_verdict(std::cout, probe.nodes(), verdict, palette);
    return verdict.exit_code();
}
