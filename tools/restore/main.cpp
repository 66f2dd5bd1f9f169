// restore: point-in-time recovery from a master's --archive-dir.
//   restore --archive DIR (--to-index N | --to-time T | --latest) --out FILE
//   restore --verify --archive DIR --node URL
// The first rebuilds the database as it was at an index or time into a new SQLite file;
// the second restores the latest point the node has reached and compares per-table
// checksums with the live node. Exit status: 0 done (or verified), 1 bad usage, 2 the
// archive is damaged, has a gap or does not reach the target, 3 the node could not be
// asked, 4 verification found a table that differs.

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "archive_restore.hpp"
#include "archive_verify.hpp"
#include "point_in_time.hpp"
#include "shared/build_info.hpp"
#include "shared/error.hpp"
#include "shared/tls_context.hpp"

namespace {

constexpr int kExitUsage = 1;
constexpr int kExitArchive = 2;
constexpr int kExitNode = 3;
constexpr int kExitMismatch = 4;

std::string format_time(int64_t ms) {
    if (ms <= 0) return "-";
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[64];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sqlrep;
    CLI::App app{
        "Point-in-time recovery from a master's --archive-dir.\n"
        "  restore --archive DIR --to-index N --out FILE   the database as it was at entry N\n"
        "  restore --archive DIR --to-time T --out FILE    ... at time T (RFC 3339 or Unix ms)\n"
        "  restore --archive DIR --latest --out FILE       ... at the archive's last entry\n"
        "  restore --verify --archive DIR --node URL       compare with a live node\n"
        "Exit status: 0 done, 1 bad usage, 2 archive damaged / gap / target not reached,\n"
        "3 node unreachable, 4 verification found a table that differs."};
    app.set_version_flag("--version", build_info::version_line("restore"));
    std::string archive, out, to_time, node, tls_ca;
    int64_t to_index = -1;
    bool latest = false, verify = false, keep_log = false, quiet = false;
    double wait_seconds = 30;
    std::string token = std::getenv("SQLREP_TOKEN") ? std::getenv("SQLREP_TOKEN") : "";
    app.add_option("--archive", archive, "The archive directory (a master's --archive-dir)")
        ->required();
    auto* index_opt = app.add_option("--to-index", to_index, "Restore up to and including entry N")
                          ->check(CLI::Range(int64_t{0}, int64_t{1} << 62));
    auto* time_opt = app.add_option("--to-time", to_time,
                                    "Restore up to the last entry committed at or before T "
                                    "(RFC 3339, e.g. 2026-12-03T04:05:06.250Z, or Unix ms)");
    auto* latest_opt = app.add_flag("--latest", latest, "Restore the archive's last entry");
    app.add_option("--out", out, "The SQLite file to write (must not exist)");
    app.add_flag("--keep-log", keep_log,
                 "Keep sqlrep's _sqlrep_ tables (the log, its meta) in the output (by default "
                 "it holds the user's tables only)");
    auto* verify_opt = app.add_flag(
        "--verify", verify, "Restore to the node's index and compare per-table checksums with it");
    app.add_option("--node", node, "The node --verify compares with (http(s)://host:port)");
    app.add_option("--wait", wait_seconds,
                   "--verify: seconds to wait for the archive to reach the node's index")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--token", token, "Client token for a node with --auth ($SQLREP_TOKEN)");
    app.add_option("--tls-ca", tls_ca, "PEM CA for an https node");
    app.add_flag("--quiet", quiet, "No progress on stderr");
    index_opt->excludes(time_opt)->excludes(latest_opt)->excludes(verify_opt);
    time_opt->excludes(latest_opt)->excludes(verify_opt);
    latest_opt->excludes(verify_opt);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version exit 0; any mistake is bad usage (1), whatever CLI11's code.
        return app.exit(e) == 0 ? 0 : kExitUsage;
    }

    try {
        if (verify) {
            if (node.empty()) {
                std::cerr << "restore: --verify needs --node URL\n";
                return kExitUsage;
            }
            restore::VerifyOptions options;
            options.archive = archive;
            options.node_url = node;
            options.client.bearer_token = token;
            TlsFiles tls;
            tls.ca = tls_ca;
            options.client.tls = make_client_tls(tls);
            options.wait = std::chrono::milliseconds(static_cast<int64_t>(wait_seconds * 1000));
            options.verbose = !quiet;
            return restore::verify_archive(options) ? 0 : kExitMismatch;
        }
        if (out.empty()) {
            std::cerr << "restore: --out FILE is required (or --verify)\n";
            return kExitUsage;
        }
        restore::RestoreTarget target;
        if (to_index >= 0) {
            target.index = to_index;
        } else if (!to_time.empty()) {
            target.time_ms = restore::parse_point_in_time(to_time);
            if (!target.time_ms) {
                std::cerr << "restore: --to-time " << to_time
                          << " is neither RFC 3339 (2026-12-03T04:05:06Z) nor Unix ms\n";
                return kExitUsage;
            }
        } else if (!latest) {
            std::cerr << "restore: give --to-index N, --to-time T or --latest\n";
            return kExitUsage;
        }
        restore::RestoreResult r = restore::restore_archive(archive, target, out, keep_log, !quiet);
        std::cout << "restored " << out << " to index " << r.position.index << " (term "
                  << r.position.term << ", time " << format_time(r.time_ms) << ", hash "
                  << to_hex(r.position.hash) << ") from " << r.snapshot << " and " << r.entries
                  << " entries in " << r.segments << " segment files\n";
        return 0;
    } catch (const Error& e) {
        std::cerr << "restore: " << e.what() << '\n';
        if (e.kind() == ErrorKind::unavailable) return kExitNode;
        return kExitArchive;
    } catch (const std::exception& e) {
        std::cerr << "restore: " << e.what() << '\n';
        return kExitArchive;
    }
}
