#include "shared/rqlite_status.hpp"

#include <sys/utsname.h>

#include <sqlite3.h>

#include <thread>

#include "shared/build_info.hpp"
#include "shared/url.hpp"

namespace sqlrep {
namespace {

std::string iso_time(std::chrono::system_clock::time_point t) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// "host:port" of a URL, or the text itself when it does not parse.
std::string host_port(const std::string& url) {
    try {
        Url u = parse_url(url);
        return u.host + ":" + std::to_string(u.port);
    } catch (const Error&) {
        return url;
    }
}

bool is_master(const json::object& status) {
    const json::value* role = status.if_contains("role");
    return role && role->is_string() && role->get_string() == "master";
}

int64_t int_field(const json::object& o, const char* key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_int64() ? v->get_int64() : 0;
}

}  // namespace

json::object with_rqlite_status(json::object status, const NodeConfig& config,
                                std::chrono::system_clock::time_point started) {
    auto now = std::chrono::system_clock::now();
    bool master = is_master(status);
    // The master as this node knows it now (it moves on failover).
    const json::value* known = status.if_contains("master");
    std::string master_url = known && known->is_string() ? std::string(known->get_string())
                             : master                    ? config.advertised_url()
                                                         : config.master_url;
    std::string master_id =
        std::to_string(status.contains("master_id") ? int_field(status, "master_id") : 0);
    utsname uts{};
    uname(&uts);

    status["build"] = json::object{{"version", build_info::kVersion},
                                   {"commit", build_info::kCommit},
                                   {"describe", build_info::kDescribe},
                                   {"branch", build_info::kBranch},
                                   {"build_time", build_info::kBuildTime}};
    status["http"] = json::object{{"bind_addr", config.host + ":" + std::to_string(config.port)},
                                  {"api_addr", config.advertised_url()},
                                  {"auth", config.auth_file.empty() ? "disabled" : "enabled"}};
    status["node"] = json::object{
        {"start_time", iso_time(started)},
        {"current_time", iso_time(now)},
        {"uptime",
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - started).count()) +
             "s"}};
    status["runtime"] = json::object{{"GOOS", uts.sysname},
                                     {"GOARCH", uts.machine},
                                     {"num_cpu", std::thread::hardware_concurrency()},
                                     {"version", "sqlrep (C++)"}};
    const json::value* state = status.if_contains("state");
    bool ready = state && state->is_string() &&
                 (state->get_string() == "serving" || state->get_string() == "following");
    status["store"] = json::object{
        {"ready", ready},
        {"node_id", std::to_string(config.node_id)},
        {"addr", host_port(config.advertised_url())},
        {"dir", config.data_dir},
        {"leader", json::object{{"node_id", master_id},
                                {"addr", master_url.empty() ? "" : host_port(master_url)},
                                {"api_addr", master_url}}},
        {"raft", json::object{{"state", master ? "Leader" : "Follower"},
                              {"applied_index", int_field(status, "applied_index")},
                              {"term", int_field(status, "term")}}},
        {"sqlite3", json::object{{"version", sqlite3_libversion()}}}};
    return status;
}

HttpResponse rqlite_readyz(const std::string& not_ready, bool noleader) {
    HttpResponse res{
        not_ready.empty() || noleader ? http::status::ok : http::status::service_unavailable, 11};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::server, "sqlrep");
    if (noleader)
        res.body() = "[+]node ok\n[+]store ok\n";
    else if (not_ready.empty())
        res.body() = "[+]node ok\n[+]leader ok\n[+]store ok\n";
    else
        res.body() = "[+]node ok\n[-]leader not ok: " + not_ready + "\n";
    res.prepare_payload();
    return res;
}

json::object rqlite_nodes(const NodeConfig& config, const json::object& status, bool v2) {
    bool master = is_master(status);
    json::array nodes;
    auto add = [&](const std::string& id, const std::string& api, bool leader, bool reachable) {
        json::object n{
            {"id", id},        {"api_addr", api},  {"addr", api.empty() ? "" : host_port(api)},
            {"voter", leader}, {"leader", leader}, {"reachable", reachable}};
        nodes.push_back(std::move(n));
    };
    std::string self = std::to_string(config.node_id);
    if (master) {
        add(self, config.advertised_url(), true, true);
        // Each replica's URL is what it said in its stream handshake ("" before it did).
        if (const json::value* replicas = status.if_contains("replicas"))
            for (const auto& r : replicas->as_array()) {
                const json::object& o = r.as_object();
                const json::value* connected = o.if_contains("connected");
                const json::value* url = o.if_contains("url");
                add(std::to_string(int_field(o, "id")),
                    url && url->is_string() ? std::string(url->get_string()) : "", false,
                    connected && connected->is_bool() && connected->get_bool());
            }
    } else {
        const json::value* state = status.if_contains("state");
        bool following = state && state->is_string() && state->get_string() == "following";
        const json::value* url = status.if_contains("master");
        std::string master_url =
            url && url->is_string() ? std::string(url->get_string()) : config.master_url;
        std::string master_id =
            std::to_string(status.contains("master_id") ? int_field(status, "master_id") : 0);
        add(master_id, master_url, true, following);
        add(self, config.advertised_url(), false, true);
    }
    if (v2) return json::object{{"nodes", std::move(nodes)}};
    json::object by_id;
    for (auto& n : nodes) {
        json::object o = n.as_object();
        std::string id(o.at("id").as_string());
        o.erase("id");
        by_id[id] = std::move(o);
    }
    return by_id;
}

}  // namespace sqlrep
