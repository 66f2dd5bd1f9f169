#pragma once
// Reads every node of a cluster over HTTP, for show_all and a node's cluster overview
// (cluster_overview): /status and /checksum, waiting (bounded) for lagging nodes to reach
// the reference's index (the master, found from /status: see reference_node), then (show_all)
// a sample of every table. Owns one HttpClient per node. All
// calls block and run on the calling thread, except probe(), which asks every node at once from
// short-lived threads of its own.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "shared/http_client.hpp"
#include "shared/node_facts.hpp"

namespace sqlrep {

class ClusterProbe {
  public:
    // `addresses` are origins ("http://host:port"), in any order.
    // `timeout` bounds each request.
    // `client` carries TLS for https addresses and the client token (see HttpClient);
    // `headers` go with every request (a node sends its cluster token).
    ClusterProbe(const std::vector<std::string>& addresses, std::chrono::milliseconds timeout,
                 const ClientOptions& client, std::map<std::string, std::string> headers = {});
    ClusterProbe(const ClusterProbe&) = delete;
    ClusterProbe& operator=(const ClusterProbe&) = delete;

    // Fills status and checksum facts of every node. A node that cannot be reached or
    // answers with an error is marked unreachable and left alone afterwards.
    void probe();

    // Re-reads /checksum of every reachable node whose index differs from the reference's
    // until all agree or `wait` has passed. The reference is re-read too when another node
    // got ahead of it (writes still arriving), and chosen again after every round, since a
    // re-read /status may show a new master. Returns true when every node agrees.
    bool wait_for_catch_up(std::chrono::milliseconds wait);

    // Fetches up to `limit` rows of every table of every reachable node.
    void sample_tables(int64_t limit);

    const std::vector<NodeFacts>& nodes() const { return nodes_; }

  private:
    void probe_node(size_t i);
    void read_checksum(size_t i);
    TableSample sample_table(size_t i, const TableSummary& table, int64_t limit);

    std::chrono::milliseconds timeout_;
    std::map<std::string, std::string> headers_;
    std::vector<NodeFacts> nodes_;
    std::vector<std::unique_ptr<HttpClient>> clients_;  // parallel to nodes_; null if unusable
};

// `name` as an SQLite identifier in double quotes, inner quotes doubled.
std::string quote_identifier(const std::string& name);

}  // namespace sqlrep
