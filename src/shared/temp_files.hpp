#pragma once
// Temporary files a node makes next to its database: snapshots being sent, backups being
// served, uploads being checked, incoming snapshots, change-feed staging. All are named
// "<database file>.tmp-<name>", so that a node restarting after a crash removes its own
// leftovers (gigabytes, with a big database) and never another node's that shares the
// data directory.

#include <string>

namespace sqlrep {

// The temporary file `name` of the database at `database_path`.
std::string temp_path(const std::string& database_path, const std::string& name);

// A new, unused temporary file name: temp_path(database_path, kind-random extension).
std::string unique_temp_path(const std::string& database_path, const std::string& kind,
                             const std::string& extension = "");

// Removes every temporary file of the database at `database_path`; returns how many.
// Call at start-up only, before anything could make a new one.
int remove_temp_files(const std::string& database_path);

}  // namespace sqlrep
