#pragma once
// ResponseStream: a response its handler writes piece by piece over a connection it took
// over from the HTTP session (RequestHandler::take_stream), for a body too large to hold
// in memory (a backup file) or one with no end (Server-Sent Events).
//
// The head goes first, then the body in HTTP/1.1 chunked encoding, so that a client can
// tell a whole body from a cut connection: a truncated backup must not look complete.
// (An HTTP/1.0 client gets the body unframed, ended by the close.) No request follows a
// streamed response: the connection closes after it.
//
// Thread contract: call from any thread. One write at a time: the producer calls start()
// or write() again only after the previous call's completion ran. Every write must finish
// within the write timeout, so a client that stopped reading ends the stream with an error
// (the producer's completion sees it) instead of holding the producer forever.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "shared/byte_stream.hpp"
#include "shared/http_types.hpp"

namespace sqlrep {

class ResponseStream : public std::enable_shared_from_this<ResponseStream> {
  public:
    // Completion of start() or write(): an error means the client is gone (or too slow)
    // and the connection is closed; stop producing.
    using Done = std::function<void(beast::error_code)>;

    // `http_version`: the request's (10 or 11).
    static std::shared_ptr<ResponseStream> create(ByteStream stream, unsigned http_version);

    // An ordinary whole response (a refusal found before streaming began); then closes.
    void send_whole(HttpResponse res);
    // The head: `head`'s status and headers (its body is ignored).
    void start(HttpResponse head, Done done);
    // `data` as one piece of the body (an empty `data` completes at once).
    void write(std::string data, Done done);
    // Ends the body and closes the connection.
    void finish();
    // Closes the connection at once, leaving the body incomplete (the client sees that).
    void abort();

    void set_write_timeout(std::chrono::milliseconds timeout) { write_timeout_ = timeout; }
    // The connection's executor, where every completion runs (a producer's timers too).
    net::any_io_executor get_executor() { return stream_.get_executor(); }

    ResponseStream(ByteStream stream, unsigned http_version);

  private:
    void send(std::string bytes, Done done);
    void close();

    ByteStream stream_;
    const bool chunked_;
    std::string out_;  // the bytes of the write in flight
    std::chrono::milliseconds write_timeout_{30000};
};

}  // namespace sqlrep
