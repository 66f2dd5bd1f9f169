#pragma once
// A change sink: somewhere outside the cluster that the master delivers every row change
// to (a webhook, NATS JetStream; Kafka would be one more). SinkRunner (sink_runner.hpp)
// reads the log, turns entries into changes and hands a sink one batch at a time; a sink
// only has to deliver a batch and say, by returning, that the other side acknowledged all
// of it. docs/ARCHITECTURE.md ("Change sinks") explains the split.
//
// Thread contract: a sink is used by its runner's thread only, and may block there (it is
// never on the write path). deliver() must be bounded in time.

#include <cstdint>
#include <string>
#include <vector>

#include "shared/json.hpp"

namespace sqlrep::master {

// One row change, as a sink sends it.
struct SinkChange {
    int64_t index = 0;  // the entry's log index
    int ordinal = 0;    // its place among the entry's changes, from 0
    std::string table;
    json::object event;  // the change event (docs/API.md, "Change events")
};

class ChangeSink {
  public:
    virtual ~ChangeSink() = default;

    // The sink's name: its row in _sqlrep_cdc and its label in /status and /metrics.
    virtual const std::string& name() const = 0;

    // Delivers `changes` (in log order, never empty). Returns once the other side has
    // acknowledged every one of them; throws Error (with a message saying what failed)
    // otherwise, and the runner sends the batch again later. Delivering some of a batch
    // before failing is allowed: receivers drop repeats by index (at least once).
    virtual void deliver(const std::vector<SinkChange>& changes) = 0;
};

}  // namespace sqlrep::master
