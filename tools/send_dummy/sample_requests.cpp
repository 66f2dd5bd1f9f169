#include "sample_requests.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <utility>

#include "json_pretty.hpp"
#include "schema_setup.hpp"
#include "shared/http_client.hpp"
#include "sql_request.hpp"

namespace sqlrep::send_dummy {

namespace {

constexpr const char* kUsersDdl =
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT UNIQUE, "
    "email TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)";

// Sends one request and prints both sides. Returns the answer for the caller to chain on.
SqlAnswer show(HttpClient& client, const json::object& body, std::chrono::milliseconds timeout,
               std::ostream& out) {
    out << "==> POST " << client.url().origin() << "/\n" << pretty_json(body) << '\n';
    SqlAnswer answer = send_sql(client, body, timeout);
    out << "<== HTTP " << answer.status << '\n'
        << (answer.body.is_null() ? answer.raw : pretty_json(answer.body)) << "\n\n";
    return answer;
}

}  // namespace

bool run_samples(const std::string& target, const ClientOptions& client_options,
                 const std::string& ack, std::chrono::milliseconds timeout, std::ostream& out) {
    HttpClient node(target, client_options);
    bool all_ok = true;

    // Schema changes are the master's alone; a replica would answer 403.
    const std::string master = master_origin(node, timeout);
    if (master != node.url().origin()) {
        out << "# " << target << " is a replica; the table is created on its master " << master
            << "\n\n";
        HttpClient master_client(master, node.options());
        SqlAnswer created = show(master_client, exec_body(kUsersDdl, {}, ack), timeout, out);
        all_ok = created.ok();
        if (created.ok() && created.index() >= 0) {
            try {
                wait_for_index(node, created.index(), timeout);
            } catch (const std::runtime_error& e) {
                out << "# " << e.what() << "\n\n";
            }
        }
    } else {
        all_ok = show(node, exec_body(kUsersDdl, {}, ack), timeout, out).ok();
    }

    // OR IGNORE keeps a second run from failing on the UNIQUE usernames.
    const std::pair<const char*, const char*> users[] = {
        {"alice", "alice@example.com"}, {"bob", "bob@example.com"}, {"carol", "carol@example.com"}};
    int64_t last_index = -1;
    for (const auto& [name, email] : users) {
        SqlAnswer answer =
            show(node,
                 exec_body("INSERT OR IGNORE INTO users (username, email) VALUES (?, ?)",
                           json::value(json::array{name, email}), ack),
                 timeout, out);
        all_ok = all_ok && answer.ok();
        last_index = std::max(last_index, answer.index());
    }
    SqlAnswer named =
        show(node,
             exec_body("INSERT OR IGNORE INTO users (username, email) VALUES (:name, :email)",
                       json::value(json::object{{":name", "dave"}, {":email", "dave@example.com"}}),
                       ack),
             timeout, out);
    all_ok = all_ok && named.ok();
    last_index = std::max(last_index, named.index());

    // min_index makes the read see the writes above even on a replica.
    std::optional<int64_t> min_index;
    if (last_index >= 0) min_index = last_index;
    all_ok = show(node, query_body("SELECT * FROM users ORDER BY id", {}, min_index), timeout, out)
                 .ok() &&
             all_ok;
    all_ok = show(node,
                  query_body("SELECT id, username, email FROM users WHERE username = ?",
                             json::value(json::array{"alice"}), min_index),
                  timeout, out)
                 .ok() &&
             all_ok;
    return all_ok;
}

}  // namespace sqlrep::send_dummy
