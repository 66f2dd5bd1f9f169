#pragma once
// Temporary files a node makes next to its database: snapshots being sent, backups being
// served, uploads being checked, incoming snapshots, change-feed staging. All are named
// "<database file>.tmp-<kind>-<random><extension>", so that a node restarting after a
// crash removes its own leftovers (gigabytes, with a big database) and never another
// node's that shares the data directory.

#include <string>

namespace sqlrep {

// The prefix of every temporary file of the node whose database is at `database_path`.
std::string temp_prefix(const std::string& database_path);

// A new, unused name under `prefix` (from temp_prefix()): prefix + kind + "-" + random +
// extension.
std::string unique_temp_path(const std::string& prefix, const std::string& kind,
                             const std::string& extension);

// Removes every file under `prefix`; returns how many. Call at start-up only, before
// anything could make a new one.
int remove_temp_files(const std::string& prefix);

}  // namespace sqlrep
