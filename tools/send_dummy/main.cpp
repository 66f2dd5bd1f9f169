// send_dummy: sends SQL to any sqlrep node. With no arguments it runs the seed's sample
// requests against the master on 127.0.0.1:8080; --exec/--query/--file send one request;
// --rows loads generated rows from several threads and reports latency.
// Exit status: 0 success, 1 a request failed or bad usage, 3 the node could not be reached.

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "json_pretty.hpp"
#include "load_runner.hpp"
#include "progress_bar.hpp"
#include "sample_requests.hpp"
#include "schema_setup.hpp"
#include "shared/build_info.hpp"
#include "shared/error.hpp"
#include "shared/http_client.hpp"
#include "shared/tls_context.hpp"
#include "sql_request.hpp"

namespace {

using namespace sqlrep;
using namespace sqlrep::send_dummy;

constexpr int kExitFailed = 1;
constexpr int kExitUnreachable = 3;

// Sends one request and prints the answer's body: pretty JSON on stdout, the status on
// stderr when it is not 200.
int send_one(const std::string& target, const ClientOptions& client_options,
             const json::object& body, std::chrono::milliseconds timeout) {
    HttpClient client(target, client_options);
    SqlAnswer answer = send_sql(client, body, timeout);
    if (answer.status != 200) std::cerr << "HTTP " << answer.status << '\n';
    std::cout << (answer.body.is_null() ? answer.raw : pretty_json(answer.body)) << '\n';
    return answer.ok() ? 0 : kExitFailed;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().find_first_not_of(" \t\r\n") == std::string::npos)
        throw std::invalid_argument(path + " holds no SQL");
    return text.str();
}

std::optional<json::value> parse_params(const std::string& text) {
    if (text.empty()) return std::nullopt;
    boost::system::error_code ec;
    json::value params = json::parse(text, ec);
    if (ec || !(params.is_array() || params.is_object()))
        throw std::invalid_argument(
            "--params must be a JSON array (positional) or object (named), e.g. '[1, \"a\"]'");
    return params;
}

int load(const LoadOptions& options) {
    {
        HttpClient node(options.target, options.client);
        create_table(node, kDummyTableDdl, options.ack, options.timeout);
    }
    LoadResult result = LoadRunner(options).run();
    std::cout << "rows         " << options.rows << " into table dummy via " << options.target
              << " with " << options.concurrency << " thread"
              << (options.concurrency == 1 ? "" : "s") << '\n';
    result.stats.print_summary(std::cout, result.elapsed_s);
    return result.stats.errors() == 0 ? 0 : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Send SQL to a sqlrep node. With no arguments: create a users table on the master at "
        "http://127.0.0.1:8080, insert a few rows and read them back, printing each request "
        "and answer.\n"
        "Exit status: 0 success, 1 a request failed or bad usage, 3 the node is unreachable."};
    app.set_version_flag("--version", sqlrep::build_info::version_line("send_dummy"));
    std::string target = "http://127.0.0.1:8080";
    std::string exec_sql;
    std::string query_sql;
    std::string params_text;
    std::string file;
    int64_t rows = 0;
    int concurrency = 1;
    std::string ack;
    double timeout_seconds = 10;
    std::string tls_ca;
    std::string token = std::getenv("SQLREP_TOKEN") ? std::getenv("SQLREP_TOKEN") : "";

    app.add_option("--node", target, "Node to send to (master or replica)")->capture_default_str();
    auto* exec_opt =
        app.add_option("--exec", exec_sql, "Run one write or DDL and print the answer");
    auto* query_opt = app.add_option("--query", query_sql, "Run one read and print the answer");
    auto* file_opt =
        app.add_option("--file", file, "Run a file of SQL as one atomic exec and print the answer");
    auto* rows_opt = app.add_option("--rows", rows, "Insert N generated rows into table dummy")
                         ->check(CLI::PositiveNumber);
    app.add_option("--params", params_text, "Parameters as JSON: [1, \"a\"] or {\":name\": 1}")
        ->excludes(rows_opt);
    app.add_option("--concurrency", concurrency, "Threads inserting with --rows")
        ->check(CLI::Range(1, 1024))
        ->needs(rows_opt)
        ->capture_default_str();
    app.add_option("--ack", ack, "Ack mode for writes: master, quorum or all (default: node's)")
        ->check(CLI::IsMember({"master", "quorum", "all"}))
        ->excludes(query_opt);
    app.add_option("--timeout", timeout_seconds, "Seconds allowed for each request")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--tls-ca", tls_ca,
                   "PEM CA that an https node's certificate must chain to (without it https is "
                   "encrypted but not verified)");
    app.add_option("--token", token,
                   "Client token for a node started with --auth (default: $SQLREP_TOKEN)");
    exec_opt->excludes(query_opt)->excludes(file_opt)->excludes(rows_opt);
    query_opt->excludes(file_opt)->excludes(rows_opt);
    file_opt->excludes(rows_opt);
    CLI11_PARSE(app, argc, argv);

    const auto timeout = std::chrono::milliseconds(static_cast<long long>(timeout_seconds * 1000));
    try {
        TlsFiles tls_files;
        tls_files.ca = tls_ca;
        ClientOptions client_options{make_client_tls(tls_files), token};
        if (tls_ca.empty() && target.rfind("https:", 0) == 0)
            std::cerr
                << "send_dummy: warning: not verifying the node's certificate (no --tls-ca)\n";
        std::optional<json::value> params = parse_params(params_text);
        if (params && exec_sql.empty() && query_sql.empty() && file.empty())
            throw std::invalid_argument("--params goes with --exec, --query or --file");
        if (!exec_sql.empty())
            return send_one(target, client_options, exec_body(exec_sql, params, ack), timeout);
        if (!query_sql.empty())
            return send_one(target, client_options, query_body(query_sql, params), timeout);
        if (!file.empty())
            return send_one(target, client_options, exec_body(read_file(file), params, ack),
                            timeout);
        if (rows > 0) {
            LoadOptions options;
            options.target = target;
            options.client = client_options;
            options.rows = rows;
            options.concurrency = concurrency;
            options.ack = ack;
            options.timeout = timeout;
            options.show_progress = stderr_is_terminal();
            return load(options);
        }
        return run_samples(target, client_options, ack, timeout, std::cout) ? 0 : kExitFailed;
    } catch (const Error& e) {
        std::cerr << "send_dummy: " << e.what() << '\n';
        bool unreachable = e.kind() == ErrorKind::unavailable || e.kind() == ErrorKind::timeout;
        return unreachable ? kExitUnreachable : kExitFailed;
    } catch (const std::exception& e) {
        std::cerr << "send_dummy: " << e.what() << '\n';
        return kExitFailed;
    }
}
