// sqlrep: an interactive SQL shell for any sqlrep node, and a way for scripts to run SQL
// (from a pipe or -c). Composes the parts: flags, the connection, the line source (a
// terminal with line editing and history, or a stream), the interpreter. Exit status:
// 0 when every statement and command succeeded, 1 when one failed (errors on stderr) or
// the flags are wrong. README.md, "Shell", shows it in use.

#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>

#include "line_source.hpp"
#include "node_connection.hpp"
#include "shared/build_info.hpp"
#include "shared/tls_context.hpp"
#include "shell.hpp"

namespace {

// One line for the terminal: whom the shell talks to.
void print_banner(sqlrep::shell::NodeConnection& node) {
    std::cout << sqlrep::build_info::version_line("sqlrep") << '\n';
    try {
        sqlrep::shell::Answer answer = node.get("/status");
        if (answer.ok()) {
            const auto& s = answer.body.as_object();
            std::cout << "Connected to " << node.origin() << " ("
                      << sqlrep::shell::value_text(s.at("role")) << ", term "
                      << sqlrep::shell::value_text(s.at("term")) << ", applied index "
                      << sqlrep::shell::value_text(s.at("applied_index")) << ").\n";
        } else {
            std::cerr << "warning: " << node.origin()
                      << " answered /status with: " << answer.error() << '\n';
        }
    } catch (const std::exception& e) {
        std::cerr << "warning: " << node.origin() << ": " << e.what() << '\n';
    }
    std::cout << "Enter \".help\" for the commands; statements end with \";\".\n";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sqlrep::shell;

    CLI::App app{
        "sqlrep: an SQL shell for a sqlrep node.\n"
        "  sqlrep [--node URL] [--token T]       interactive on a terminal\n"
        "  sqlrep -c \"SQL; ...\"                  run and exit\n"
        "  sqlrep < file.sql, cmd | sqlrep       statements from a pipe, no prompt\n"
        "Exit status: 0 when everything succeeded, 1 when a statement or command failed."};
    app.set_version_flag("--version", sqlrep::build_info::version_line("sqlrep"));
    std::string url = "http://127.0.0.1:8080";
    std::string token = std::getenv("SQLREP_TOKEN") ? std::getenv("SQLREP_TOKEN") : "";
    std::string command;
    std::string tls_ca;
    std::string mode_name = "table";
    double timeout_seconds = 30;
    app.add_option("--node", url, "The node to talk to: http(s)://host:port")
        ->capture_default_str();
    app.add_option("--token", token,
                   "Client token for nodes started with --auth (default: $SQLREP_TOKEN)");
    app.add_option("-c,--command", command,
                   "Run these statements and dot-commands (lines), then exit");
    app.add_option("--mode", mode_name, "Output mode: table, json, csv or line")
        ->capture_default_str();
    app.add_option("--timeout", timeout_seconds, "Seconds allowed for each request")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--tls-ca", tls_ca,
                   "PEM CA that an https node's certificate must chain to (without it https "
                   "is encrypted but not verified)");
    CLI11_PARSE(app, argc, argv);

    std::optional<OutputMode> mode = parse_output_mode(mode_name);
    if (!mode) {
        std::cerr << "sqlrep: --mode must be table, json, csv or line\n";
        return 1;
    }
    std::unique_ptr<NodeConnection> node;
    try {
        sqlrep::TlsFiles tls_files;
        tls_files.ca = tls_ca;
        sqlrep::ClientOptions options{sqlrep::make_client_tls(tls_files), token};
        node = std::make_unique<NodeConnection>(
            url, options,
            std::chrono::milliseconds(static_cast<long long>(timeout_seconds * 1000)));
    } catch (const std::exception& e) {
        std::cerr << "sqlrep: " << e.what() << '\n';
        return 1;
    }
    if (tls_ca.empty() && node->origin().rfind("https:", 0) == 0)
        std::cerr << "sqlrep: warning: not verifying the node's certificate (no --tls-ca)\n";

    Shell shell(*node, std::cout, std::cerr);
    shell.set_mode(*mode);
    if (!command.empty() || app.count("-c") > 0) {
        std::istringstream text(command);
        StreamLineSource source(text);
        shell.run(source);
    } else if (::isatty(STDIN_FILENO)) {
        std::setlocale(LC_CTYPE, "");  // the line editor takes the terminal's characters (UTF-8)
        print_banner(*node);
        EditLineSource source(default_history_file());
        if (shell.run(source)) std::cout << '\n';  // the end of input (Ctrl-D) ends no line
        return 0;                                  // a person saw each error as it came
    } else {
        StreamLineSource source(std::cin);
        shell.run(source);
    }
    return shell.failed() ? 1 : 0;
}
