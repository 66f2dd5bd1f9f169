#pragma once
// What is learnt about one node of a cluster: its /status, its /checksum and (show_all
// only) a sample of each table's rows. Plain data, filled by show_all's ClusterProbe or a
// node's ClusterOverview and read by the comparison (cluster_compare) and the reports; no
// I/O here.

#include <cstdint>
#include <string>
#include <vector>

#include "shared/net.hpp"

namespace sqlrep {

// One entry of GET /checksum.
struct TableSummary {
    std::string name;
    int64_t rows = 0;
    std::string checksum;
};

// The first rows of one table, as POST / {"command":"query"} returned them.
struct TableSample {
    std::string name;
    std::vector<std::string> columns;
    std::vector<json::array> rows;  // at most the --limit asked for
    int64_t rows_left_out = 0;      // rows the table has beyond `rows`
    std::string error;              // non-empty when the query failed
};

struct NodeFacts {
    std::string address;  // origin as the user gave it, e.g. "http://127.0.0.1:8081"

    // Empty while the node answers; otherwise why it could not be inspected.
    std::string error;
    bool reachable() const { return error.empty(); }

    // From GET /status.
    std::string role;
    int64_t term = 0;
    int64_t applied_index = 0;
    std::string state;
    std::string master;
    json::object status;  // the whole answer, for the fields above and the rest

    // From GET /checksum: the index all of `tables` were read at.
    int64_t checksum_index = 0;
    std::vector<TableSummary> tables;
    // Set instead of `error` when /status answered but /checksum did not, on a node whose
    // state is "diverged": it is reachable, and its tables count as differing.
    std::string checksum_error;

    std::vector<TableSample> samples;  // in the order of `tables`

    bool diverged() const { return state == "diverged"; }

    const TableSummary* find_table(const std::string& name) const {
        for (const auto& t : tables)
            if (t.name == name) return &t;
        return nullptr;
    }
};

}  // namespace sqlrep
