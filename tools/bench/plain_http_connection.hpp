#pragma once
// One keep-alive HTTP/1.1 connection over plain TCP, driven by blocking syscalls: what a
// load worker uses against an http:// node (https goes through HttpClient).
//
// Why not HttpClient: bench shares the machine with the nodes it measures, and on two
// cores every microsecond the client spends is taken from them. HttpClient runs each
// request as async operations on a private io_context with a deadline timer: about 45 us
// of CPU and half a dozen syscalls per request (timer, send, a recv that finds nothing,
// epoll_wait, recv). This sends a request with one send() and usually reads the answer
// with one blocking recv(), which Beast's parser reads. dqlite and sqlrep are measured
// through the same class.
//
// The timeout bounds each send() and recv() (SO_SNDTIMEO / SO_RCVTIMEO), not the request
// as a whole. Response headers are not kept: the workloads look at status and body only.

#include <chrono>
#include <string>

#include "shared/http_client.hpp"
#include "shared/url.hpp"
#include "workload.hpp"

namespace sqlrep::bench {

class PlainHttpConnection {
  public:
    PlainHttpConnection(Url url, std::string bearer_token, std::chrono::milliseconds timeout);
    ~PlainHttpConnection();
    PlainHttpConnection(const PlainHttpConnection&) = delete;
    PlainHttpConnection& operator=(const PlainHttpConnection&) = delete;

    // Sends `request` and waits for the whole answer; connects first when needed, and
    // again, once, when a kept-alive connection turns out closed before any answer.
    // Throws Error(unavailable) or Error(timeout).
    HttpResult request(const Request& request);

  private:
    void connect();
    void close();
    // One attempt on the open connection; `answered` tells whether any answer came.
    HttpResult exchange(const std::string& bytes, bool& answered);

    Url url_;
    std::string fixed_headers_;  // Host, User-Agent, Authorization: the same every time
    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    beast::flat_buffer buffer_;
};

}  // namespace sqlrep::bench
