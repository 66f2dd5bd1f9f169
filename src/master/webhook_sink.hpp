#pragma once
// The webhook sink (--cdc-webhook URL): POSTs each batch of changes as one JSON document
// to the URL and counts it delivered on a 2xx answer. Anything else (no connection, a
// timeout, another status) fails the batch and the runner sends it again after a backoff.
// The request format is in docs/API.md ("Webhook sink").
//
// https URLs are verified, host name included, against the system's CA certificates
// (Debian's ca-certificates), or those of $SSL_CERT_FILE / $SSL_CERT_DIR (OpenSSL's
// default verify paths).
// Used by its runner's thread only; deliver() blocks for at most kRequestTimeout.

#include <chrono>
#include <memory>
#include <string>

#include "master/change_sink.hpp"
#include "shared/http_client.hpp"

namespace sqlrep::master {

class WebhookSink : public ChangeSink {
  public:
    static constexpr std::chrono::seconds kRequestTimeout{5};

    // Throws Error(bad_request) when `url` is not an http(s) URL.
    explicit WebhookSink(const std::string& url);
    WebhookSink(const WebhookSink&) = delete;
    WebhookSink& operator=(const WebhookSink&) = delete;

    const std::string& name() const override { return name_; }
    void deliver(const std::vector<SinkChange>& changes) override;

  private:
    const std::string name_ = "webhook";
    Url url_;
    ClientOptions options_;
    std::unique_ptr<HttpClient> client_;  // made on first use, remade after a failure
};

// The body of one webhook request: {"first_index", "last_index", "changes": [...]}.
std::string webhook_body(const std::vector<SinkChange>& changes);

}  // namespace sqlrep::master
