#pragma once
// The change sinks the command line asks for (--cdc-webhook, --cdc-nats with
// --cdc-subject), made fresh each time a node becomes master. Making them opens no
// connection, so main() also calls this once at start to refuse bad flags early.

#include <memory>
#include <vector>

#include "master/change_sink.hpp"
#include "shared/node_config.hpp"

namespace sqlrep::master {

// Throws Error(bad_request) naming the flag when one is unusable.
std::vector<std::unique_ptr<ChangeSink>> make_sinks(const NodeConfig& config);

}  // namespace sqlrep::master
