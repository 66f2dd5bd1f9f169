#pragma once
// A consumer of a node's GET /changes for tests, as a client would write one: Server-Sent
// Events over a plain socket (parsed as a browser's EventSource does, Last-Event-ID
// included) or WebSocket messages (Beast, synchronous). Every read is bounded by a timeout;
// an SSE consumer survives one (it may wait through a quiet spell), a WebSocket one does not.
// One thread; not copyable.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/json.hpp>

namespace sqlrep::test {

class ChangeConsumer {
  public:
    enum class Transport { sse, websocket };

    // Connects to 127.0.0.1:`port` and asks for `target` ("/changes?from=1"). status() says
    // how the node answered (200 or 101 when streaming, else the error and its body).
    ChangeConsumer(Transport transport, uint16_t port, const std::string& target,
                   const std::map<std::string, std::string>& headers = {});
    ~ChangeConsumer();
    ChangeConsumer(const ChangeConsumer&) = delete;
    ChangeConsumer& operator=(const ChangeConsumer&) = delete;

    unsigned status() const { return status_; }
    // The body of a refusal (JSON), or null.
    const boost::json::value& refusal() const { return refusal_; }

    // The next event's JSON (heartbeats skipped), or nullopt once the node has closed the
    // stream. Throws std::runtime_error when nothing comes within `timeout`.
    std::optional<boost::json::object> next(std::chrono::milliseconds timeout);

    // SSE: what a browser would send as Last-Event-ID now (0: none yet).
    int64_t last_event_id() const { return last_event_id_; }
    // Heartbeats seen so far.
    int heartbeats() const { return heartbeats_; }

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Transport transport_;
    unsigned status_ = 0;
    boost::json::value refusal_;
    int64_t last_event_id_ = 0;
    int heartbeats_ = 0;
};

}  // namespace sqlrep::test
