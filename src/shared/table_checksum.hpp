#pragma once
// Per-table content checksums, so two nodes can be compared without moving their rows:
// XXH3-128 over every row of each user table, in the order of all its columns, read in
// one read transaction together with the applied index they belong to.

#include <cstdint>
#include <string>
#include <vector>

#include "shared/connection.hpp"

namespace sqlrep {

struct TableChecksum {
    std::string name;
    int64_t rows = 0;
    std::string checksum;  // 32 hex digits
};

struct DatabaseChecksum {
    int64_t index = 0;  // the applied index the checksums were taken at
    std::vector<TableChecksum> tables;
};

// Runs on the thread that owns `conn` (a read connection); never lists _sqlrep_* tables.
DatabaseChecksum checksum_database(Connection& conn);

}  // namespace sqlrep
