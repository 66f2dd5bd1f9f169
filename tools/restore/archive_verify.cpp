#include "archive_verify.hpp"

#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "archive_restore.hpp"
#include "shared/connection.hpp"
#include "shared/error.hpp"
#include "shared/json.hpp"
#include "shared/table_checksum.hpp"

namespace sqlrep::restore {
namespace {

namespace fs = std::filesystem;

struct Sums {
    int64_t index = 0;
    std::map<std::string, std::pair<int64_t, std::string>> tables;  // rows, checksum
};

Sums node_checksums(const VerifyOptions& options) {
    HttpClient client(options.node_url, options.client);
    HttpResult r = client.get("/checksum", std::chrono::seconds(60));
    json::value body;
    boost::system::error_code ec;
    body = json::parse(r.body, ec);
    if (r.status != 200 || ec || !body.is_object())
        throw Error(ErrorKind::unavailable, "GET " + options.node_url + "/checksum answered " +
                                                std::to_string(r.status) + ": " + r.body);
    Sums out;
    const json::object& o = body.as_object();
    out.index = o.at("index").to_number<int64_t>();
    for (const auto& t : o.at("tables").as_array()) {
        const json::object& table = t.as_object();
        out.tables[std::string(table.at("name").as_string())] = {
            table.at("rows").to_number<int64_t>(), std::string(table.at("checksum").as_string())};
    }
    return out;
}

}  // namespace

bool verify_archive(const VerifyOptions& options) {
    Sums node = node_checksums(options);
    if (options.verbose)
        std::cerr << "verify: " << options.node_url << " is at index " << node.index << '\n';

    // The archive may lag the node by up to the archive interval: wait for it.
    auto deadline = std::chrono::steady_clock::now() + options.wait;
    int64_t archived = archive_last_index(options.archive);
    while (archived < node.index) {
        if (std::chrono::steady_clock::now() >= deadline)
            throw Error(ErrorKind::timeout,
                        "the archive reaches index " + std::to_string(archived) +
                            " only; the node is at " + std::to_string(node.index));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        archived = archive_last_index(options.archive);
    }

    std::random_device random;
    fs::path dir = fs::temp_directory_path() / ("sqlrep-verify-" + std::to_string(random()));
    fs::create_directories(dir);
    struct Remove {
        fs::path dir;
        ~Remove() {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        }
    } remove{dir};
    RestoreTarget target;
    target.index = node.index;
    restore_archive(options.archive, target, dir / "restored.db", true, options.verbose);

    Sums restored;
    {
        Connection db((dir / "restored.db").string(), Connection::Mode::reader);
        DatabaseChecksum sums = checksum_database(db);
        restored.index = sums.index;
        for (const auto& t : sums.tables) restored.tables[t.name] = {t.rows, t.checksum};
    }

    std::cout << "index " << node.index << " (node " << options.node_url << ", archive "
              << options.archive.string() << ")\n";
    bool all = restored.index == node.index;
    std::map<std::string, int> names;
    for (const auto& [name, _] : node.tables) names[name] = 1;
    for (const auto& [name, _] : restored.tables) names[name] = 1;
    for (const auto& [name, _] : names) {
        auto n = node.tables.find(name);
        auto a = restored.tables.find(name);
        if (n == node.tables.end()) {
            std::cout << "MISMATCH " << name << ": only in the archive (" << a->second.first
                      << " rows)\n";
            all = false;
        } else if (a == restored.tables.end()) {
            std::cout << "MISMATCH " << name << ": only on the node (" << n->second.first
                      << " rows)\n";
            all = false;
        } else if (n->second != a->second) {
            std::cout << "MISMATCH " << name << ": node " << n->second.first << " rows "
                      << n->second.second << ", archive " << a->second.first << " rows "
                      << a->second.second << '\n';
            all = false;
        } else {
            std::cout << "match    " << name << ": " << n->second.first << " rows "
                      << n->second.second << '\n';
        }
    }
    std::cout << (all ? "verified: every table matches\n" : "NOT verified: tables differ\n");
    return all;
}

}  // namespace sqlrep::restore
