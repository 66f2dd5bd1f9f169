#include "schema_setup.hpp"

#include <stdexcept>

#include "sql_request.hpp"

namespace sqlrep::send_dummy {

std::string master_origin(HttpClient& node, std::chrono::milliseconds timeout) {
    const std::string own = node.url().origin();
    HttpResult result = node.get("/status", timeout);
    boost::system::error_code ec;
    json::value status = json::parse(result.body, ec);
    if (ec || result.status != 200 || !status.is_object()) return own;
    const json::object& fields = status.get_object();
    const json::value* role = fields.if_contains("role");
    const json::value* master = fields.if_contains("master");
    bool is_replica = role && role->is_string() && role->get_string() == "replica";
    if (!is_replica || !master || !master->is_string() || master->get_string().empty()) return own;
    return std::string(master->get_string());
}

void wait_for_index(HttpClient& node, int64_t index, std::chrono::milliseconds timeout) {
    SqlAnswer answer = send_sql(node, query_body("SELECT 1", {}, index), timeout);
    if (!answer.ok())
        throw std::runtime_error(node.url().origin() + " has not applied index " +
                                 std::to_string(index) + ": " + answer.error());
}

void create_table(HttpClient& node, const std::string& ddl, const std::string& ack,
                  std::chrono::milliseconds timeout) {
    const std::string master = master_origin(node, timeout);
    if (master == node.url().origin()) {
        SqlAnswer answer = send_sql(node, exec_body(ddl, {}, ack), timeout);
        if (!answer.ok()) throw std::runtime_error("creating the table failed: " + answer.error());
        return;
    }
    HttpClient master_client(master, node.options());
    SqlAnswer answer = send_sql(master_client, exec_body(ddl, {}, ack), timeout);
    if (!answer.ok())
        throw std::runtime_error("creating the table on the master " + master +
                                 " failed: " + answer.error());
    // The replica prepares statements against its own schema, so it must have the table
    // before rows are written through it.
    if (answer.index() >= 0) wait_for_index(node, answer.index(), timeout);
}

}  // namespace sqlrep::send_dummy
