#pragma once
// `restore --verify`: proves the archive holds what a live node holds. It asks the node
// for its per-table checksums (GET /checksum, taken at one applied index N), waits until
// the archive reaches N (the master archives within --archive-interval), restores the
// archive to exactly N, and compares table by table. Taking the node's index first and
// restoring to it is what makes the comparison sound under writes: both sides are the
// database at the same entry.
//
// Blocks (HTTP and file I/O); prints one line per table on stdout.

#include <chrono>
#include <filesystem>
#include <string>

#include "shared/http_client.hpp"

namespace sqlrep::restore {

struct VerifyOptions {
    std::filesystem::path archive;
    std::string node_url;
    ClientOptions client;                   // token, TLS
    std::chrono::milliseconds wait{30000};  // for the archive to reach the node's index
    bool verbose = false;
};

// True when every table matches (same tables, rows and checksums). Throws Error when the
// node cannot be asked, the archive does not reach its index in time, or a file is bad.
bool verify_archive(const VerifyOptions& options);

}  // namespace sqlrep::restore
