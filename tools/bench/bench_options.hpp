#pragma once
// What one bench run measures, as given on the command line (see main.cpp for the flags).

#include <cstdint>
#include <string>
#include <vector>

#include "shared/http_client.hpp"

namespace sqlrep::bench {

struct BenchOptions {
    std::string ack = "quorum";         // ack mode of the replicated write measurement
    int concurrency = 16;               // client threads per measurement
    double duration_s = 10;             // seconds per measurement (per round)
    int rounds = 2;                     // sqlrep/dqlite alternations with --compare
    int64_t catch_up_entries = 100000;  // entries a stopped replica must catch up on
    int64_t keyspace = 10000;           // distinct keys written and read
    std::string sync = "full";          // --sync of the nodes bench starts
    std::vector<std::string> nodes;     // non-empty: target these (master first), start none
    std::string compare;                // "" or "dqlite"
    int failover_rounds = 0;            // > 0: only the failover measurement, this many kills
    bool changes = false;               // only the /changes consumer measurement
    std::string changes_feed = "sse";   // how that consumer reads: sse or websocket
    bool json = false;                  // print JSON instead of text
    std::string bin_dir;                // where master and replica are
    std::string command_line;           // for the report
    ClientOptions client;               // token and TLS for the sqlrep nodes (--token, --tls-ca)
};

}  // namespace sqlrep::bench
