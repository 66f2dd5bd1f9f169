#include "master/sink_factory.hpp"

#include "master/nats_sink.hpp"
#include "master/webhook_sink.hpp"
#include "shared/error.hpp"

namespace sqlrep::master {

std::vector<std::unique_ptr<ChangeSink>> make_sinks(const NodeConfig& config) {
    std::vector<std::unique_ptr<ChangeSink>> sinks;
    if (!config.cdc_webhook.empty()) {
        try {
            sinks.push_back(std::make_unique<WebhookSink>(config.cdc_webhook));
        } catch (const Error& e) {
            throw Error(ErrorKind::bad_request, std::string("--cdc-webhook: ") + e.what());
        }
    }
    if (!config.cdc_nats.empty()) {
        const std::string& url = config.cdc_nats;
        if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0)
            throw Error(ErrorKind::bad_request,
                        "--cdc-nats must be a nats:// (or tls://) URL, not \"" + url + "\"");
        sinks.push_back(std::make_unique<NatsSink>(url, config.cdc_subject));
    }
    return sinks;
}

}  // namespace sqlrep::master
