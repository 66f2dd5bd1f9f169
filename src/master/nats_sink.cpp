#include "master/nats_sink.hpp"

#include <nats/nats.h>

#include <spdlog/spdlog.h>

#include "shared/error.hpp"

namespace sqlrep::master {
namespace {

bool subject_unsafe(char c) {
    return c == '.' || c == '*' || c == '>' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
}

// "what: <status text> (<last error>)"
Error nats_error(const std::string& what, natsStatus status, jsErrCode code = jsErrCode(0)) {
    std::string text = what + ": " + natsStatus_GetText(status);
    if (const char* last = nats_GetLastError(nullptr); last && *last)
        text += std::string(" (") + last + ")";
    if (code != 0) text += " [JetStream error " + std::to_string(static_cast<int>(code)) + "]";
    return Error(ErrorKind::unavailable, text);
}

void check_prefix(const std::string& prefix) {
    bool ok = !prefix.empty() && prefix.front() != '.' && prefix.back() != '.' &&
              prefix.find("..") == std::string::npos;
    for (char c : prefix)
        if (c != '.' && subject_unsafe(c)) ok = false;
    if (!ok)
        throw Error(ErrorKind::bad_request,
                    "--cdc-subject must be a NATS subject without wildcards or white space "
                    "(tokens separated by single dots), not \"" +
                        prefix + "\"");
}

}  // namespace

std::string nats_stream_name(std::string_view prefix) {
    std::string out(prefix);
    for (char& c : out)
        if (subject_unsafe(c) || c == '/' || c == '\\') c = '_';
    return out;
}

std::string nats_subject(std::string_view prefix, std::string_view table) {
    std::string out(prefix);
    out += '.';
    if (table.empty()) return out + "_sqlrep_schema";
    for (char c : table) out += subject_unsafe(c) ? '_' : c;
    return out;
}

NatsSink::NatsSink(std::string url, std::string subject_prefix)
    : url_(std::move(url)),
      prefix_(std::move(subject_prefix)),
      stream_(nats_stream_name(prefix_)),
      name_("nats:" + prefix_) {
    check_prefix(prefix_);
}

NatsSink::~NatsSink() { disconnect(); }

void NatsSink::disconnect() {
    if (js_) jsCtx_Destroy(js_);
    js_ = nullptr;
    if (connection_) natsConnection_Destroy(connection_);
    connection_ = nullptr;
}

// Connects without automatic reconnects (a failed delivery reconnects from scratch) and
// makes sure the stream exists.
void NatsSink::connect() {
    natsOptions* options = nullptr;
    natsStatus s = natsOptions_Create(&options);
    if (s == NATS_OK) s = natsOptions_SetURL(options, url_.c_str());
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(
            options, std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout).count());
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(options, false);
    if (s == NATS_OK) s = natsConnection_Connect(&connection_, options);
    natsOptions_Destroy(options);
    if (s != NATS_OK) {
        disconnect();
        throw nats_error("cannot connect to NATS at " + url_, s);
    }
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.Wait = std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout).count();
    js_options.PublishAsync.AckHandler = &NatsSink::on_ack;
    js_options.PublishAsync.AckHandlerClosure = this;
    if (s = natsConnection_JetStream(&js_, connection_, &js_options); s != NATS_OK) {
        disconnect();
        throw nats_error("cannot use JetStream at " + url_, s);
    }
    jsStreamInfo* info = nullptr;
    jsErrCode code = jsErrCode(0);
    s = js_GetStreamInfo(&info, js_, stream_.c_str(), nullptr, &code);
    if (info) jsStreamInfo_Destroy(info);
    if (s == NATS_OK) return;
    if (s != NATS_NOT_FOUND && code != JSStreamNotFoundErr) {
        disconnect();
        throw nats_error("cannot look up the JetStream stream " + stream_, s, code);
    }
    std::string subjects = prefix_ + ".>";
    const char* subject_list[] = {subjects.c_str()};
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = stream_.c_str();
    config.Subjects = subject_list;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Duplicates =
        std::chrono::duration_cast<std::chrono::nanoseconds>(kDuplicateWindow).count();
    code = jsErrCode(0);
    s = js_AddStream(&info, js_, &config, nullptr, &code);
    if (info) jsStreamInfo_Destroy(info);
    if (s != NATS_OK) {
        disconnect();
        throw nats_error("cannot create the JetStream stream " + stream_ + " on " + subjects, s,
                         code);
    }
    spdlog::info("change sink {}: created the JetStream stream {} on {}", name_, stream_, subjects);
}

void NatsSink::on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* self) {
    auto* sink = static_cast<NatsSink*>(self);
    const char* id = nullptr;
    natsMsgHeader_Get(msg, "Nats-Msg-Id", &id);
    {
        std::lock_guard lock(sink->mutex_);
        // A positive ack, even a late one from an earlier attempt, means JetStream stores
        // the message with this id: it counts for the batch that waits for it now.
        if (ack != nullptr && id != nullptr) {
            sink->awaiting_.erase(id);
        } else if (sink->ack_error_.empty()) {
            std::string why = error && error->ErrText ? error->ErrText
                              : error                 ? natsStatus_GetText(error->Err)
                                                      : "no ack";
            sink->ack_error_ =
                "JetStream refused change " + std::string(id ? id : "?") + ": " + why;
        }
    }
    sink->acked_.notify_all();
    natsMsg_Destroy(msg);
}

void NatsSink::deliver(const std::vector<SinkChange>& changes) {
    if (!connection_ || natsConnection_IsClosed(connection_)) {
        disconnect();
        connect();
    }
    std::vector<std::string> ids;
    ids.reserve(changes.size());
    for (const SinkChange& change : changes)
        ids.push_back(std::to_string(change.index) + "." + std::to_string(change.ordinal));
    {
        std::lock_guard lock(mutex_);
        awaiting_ = std::set<std::string>(ids.begin(), ids.end());
        ack_error_.clear();
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout);
    for (std::size_t i = 0; i < changes.size(); ++i) {
        std::string subject = nats_subject(prefix_, changes[i].table);
        std::string data = json::serialize(changes[i].event);
        jsPubOptions options;
        jsPubOptions_Init(&options);
        options.MsgId = ids[i].c_str();
        options.MaxWait = wait.count();
        natsStatus s = js_PublishAsync(js_, subject.c_str(), data.data(),
                                       static_cast<int>(data.size()), &options);
        if (s != NATS_OK) {
            disconnect();
            throw nats_error("publishing change " + ids[i] + " to " + subject + " failed", s);
        }
    }
    std::unique_lock lock(mutex_);
    bool done = acked_.wait_for(lock, wait + std::chrono::seconds(1),
                                [&] { return awaiting_.empty() || !ack_error_.empty(); });
    std::string error = ack_error_;
    std::size_t missing = awaiting_.size();
    lock.unlock();
    if (done && error.empty()) return;
    disconnect();  // drops what is still pending; the batch comes again
    if (!error.empty()) throw Error(ErrorKind::unavailable, error);
    throw Error(ErrorKind::unavailable, std::to_string(missing) + " of " +
                                            std::to_string(changes.size()) +
                                            " change(s) not acknowledged by JetStream within " +
                                            std::to_string(wait.count()) + " ms");
}

}  // namespace sqlrep::master
