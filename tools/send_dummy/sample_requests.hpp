#pragma once
// send_dummy's default run, what the seed's client did: create the users table, insert a
// few rows, read them back, printing every request and every answer. Blocks.

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "shared/http_client.hpp"

namespace sqlrep::send_dummy {

// Runs the samples through the node `target` (DDL through its master). Returns true when
// every request succeeded. Throws sqlrep::Error when a node cannot be reached.
bool run_samples(const std::string& target, const ClientOptions& client_options,
                 const std::string& ack, std::chrono::milliseconds timeout, std::ostream& out);

}  // namespace sqlrep::send_dummy
