#pragma once
// The NATS JetStream sink (--cdc-nats URL --cdc-subject PREFIX): publishes each change to
// the subject PREFIX.<table> with the JetStream message id "<index>.<position>", unique
// per change, and counts it delivered once JetStream's publish ack says it is stored.
// JetStream drops a message whose id it has seen within the stream's duplicate window, so
// a change sent again after a failure or a master restart is stored once.
//
// On connecting it creates the stream when missing: named after the prefix (nats_stream_
// name), on the subjects PREFIX.>, file storage, a two-minute duplicate window. An existing
// stream is used as it is. docs/API.md ("NATS JetStream sink") has the details.
//
// A batch is published asynchronously (js_PublishAsync) and deliver() returns once
// JetStream has acknowledged every message of it, by message id; a negative ack or a
// missing one within kTimeout fails the whole batch (sent again, de-duplicated).
//
// Owns one NATS connection (libnats), made on first use and remade after any failure.
// deliver() runs on its runner's thread and blocks for at most about kTimeout; the ack
// callback runs on a libnats thread and touches only what mutex_ guards.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "master/change_sink.hpp"

typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;
typedef struct __natsMsg natsMsg;
typedef struct jsPubAck jsPubAck;
typedef struct jsPubAckErr jsPubAckErr;

namespace sqlrep::master {

class NatsSink : public ChangeSink {
  public:
    static constexpr std::chrono::seconds kTimeout{5};
    // The stream's duplicate window when this sink creates it.
    static constexpr std::chrono::minutes kDuplicateWindow{2};

    // Throws Error(bad_request) when `subject_prefix` is not a valid subject without
    // wildcards.
    NatsSink(std::string url, std::string subject_prefix);
    ~NatsSink() override;
    NatsSink(const NatsSink&) = delete;
    NatsSink& operator=(const NatsSink&) = delete;

    const std::string& name() const override { return name_; }
    void deliver(const std::vector<SinkChange>& changes) override;

  private:
    void connect();
    void disconnect();
    // libnats's ack callback (jsPubAckHandler), on its thread.
    static void on_ack(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* self);

    const std::string url_;
    const std::string prefix_;
    const std::string stream_;
    const std::string name_;
    natsConnection* connection_ = nullptr;
    jsCtx* js_ = nullptr;

    std::mutex mutex_;
    std::condition_variable acked_;
    std::set<std::string> awaiting_;  // ids of this batch not acked yet; guarded by mutex_
    std::string ack_error_;           // the first negative ack of this batch; guarded by mutex_
};

// The stream this sink creates for `prefix`: the prefix with '.' (and anything else a
// stream name may not hold) as '_'.
std::string nats_stream_name(std::string_view prefix);

// The subject of a change to `table`: PREFIX.<table>, where '.', '*', '>' and white space
// in the table's name become '_'. Schema changes go to PREFIX._sqlrep_schema (no user
// table can have that name: the _sqlrep_ prefix is reserved).
std::string nats_subject(std::string_view prefix, std::string_view table);

}  // namespace sqlrep::master
