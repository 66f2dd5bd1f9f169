#include "shell.hpp"

#include <cctype>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "cluster_view.hpp"
#include "database_dump.hpp"
#include "sql_text.hpp"

namespace sqlrep::shell {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxReadDepth = 16;

// The user's tables and views: neither SQLite's own nor sqlrep's reserved ones.
constexpr const char* kTablesQuery =
    "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE "
    "'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\' ORDER BY name";

constexpr const char* kHelp =
    ".dump                 SQL text that recreates the whole database (pipe it into sqlrep)\n"
    ".help                 this list\n"
    ".mode [MODE]          output mode: table (box-drawn, the default), json, csv, line\n"
    ".nodes                the cluster: every node's role, term, applied index, lag, state\n"
    ".quit, .exit          leave the shell\n"
    ".read FILE            run the statements and commands in FILE\n"
    ".schema [TABLE]       the CREATE statements (of TABLE and its indexes and triggers)\n"
    ".status               this node's GET /status\n"
    ".tables               the names of the tables and views\n"
    ".timer on|off         print how long each statement or command took\n"
    "SQL ends at ';' and may span lines. Reads run on the node itself; writes go through\n"
    "the master. BEGIN ... COMMIT sends the statements in between as one atomic batch.\n";

std::string trim(const std::string& text) {
    size_t begin = 0;
    size_t end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    return text.substr(begin, end - begin);
}

// A dot-command's words; "..." or '...' keep spaces in one argument.
std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        if (i >= line.size()) break;
        std::string word;
        if (line[i] == '"' || line[i] == '\'') {
            char quote = line[i++];
            while (i < line.size() && line[i] != quote) word += line[i++];
            ++i;
        } else {
            while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
                word += line[i++];
        }
        words.push_back(word);
    }
    return words;
}

int64_t int_field(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

const json::array& array_field(const json::object& o, const char* name) {
    static const json::array kEmpty;
    const json::value* v = o.if_contains(name);
    return v != nullptr && v->is_array() ? v->get_array() : kEmpty;
}

}  // namespace

Shell::Shell(NodeConnection& node, std::ostream& out, std::ostream& err)
    : node_(node), out_(out), err_(err), printer_(out) {}

bool Shell::run(LineSource& source) {
    StatementBuffer buffer;
    std::string entry;  // the lines of the statement being typed, for the history
    std::string text;
    while (true) {
        ReadResult r = source.read_line(!buffer.empty(), text);
        if (r == ReadResult::end) break;
        if (r == ReadResult::interrupted) {  // Ctrl-C: the statement being typed is dropped
            buffer = StatementBuffer();
            entry.clear();
            continue;
        }
        if (buffer.empty() && trim(text).rfind('.', 0) == 0) {
            std::string command = trim(text);
            source.remember(command);
            if (run_dot_command(command) == Step::quit) return false;
            continue;
        }
        buffer.add_line(text);
        entry += (entry.empty() ? "" : "\n") + text;
        for (const std::string& statement : buffer.take_complete()) run_statement(statement);
        if (buffer.empty()) {
            if (!is_blank_sql(entry)) source.remember(entry);
            entry.clear();
        }
    }
    if (std::string rest = buffer.take_rest(); !rest.empty()) run_statement(rest);
    if (read_depth_ == 0 && transaction_) {
        fail("the input ended inside a transaction: its " + std::to_string(transaction_->size()) +
             " statement(s) were not sent");
        transaction_.reset();
    }
    return true;
}

Shell::Step Shell::run_dot_command(const std::string& line) {
    std::vector<std::string> words = split_words(line);
    const std::string& name = words.at(0);
    auto started = Clock::now();
    bool timed = false;
    try {
        if (name == ".quit" || name == ".exit") {
            quit_ = true;
            return Step::quit;
        } else if (name == ".help") {
            print_help();
        } else if (name == ".mode") {
            if (words.size() == 1) {
                out_ << output_mode_name(printer_.mode()) << '\n';
            } else if (auto mode = parse_output_mode(words[1]); mode && words.size() == 2) {
                printer_.set_mode(*mode);
            } else {
                fail("usage: .mode table|json|csv|line");
            }
        } else if (name == ".timer") {
            if (words.size() == 2 && (words[1] == "on" || words[1] == "off"))
                timer_ = words[1] == "on";
            else
                fail("usage: .timer on|off");
        } else if (name == ".tables") {
            timed = true;
            Answer answer = node_.query(kTablesQuery);
            if (!answer.ok()) throw std::runtime_error(answer.error());
            for (const json::value& row : array_field(answer.body.as_object(), "rows"))
                out_ << value_text(row.as_array().at(0)) << '\n';
        } else if (name == ".schema") {
            if (words.size() > 2) throw std::invalid_argument("usage: .schema [TABLE]");
            timed = true;
            std::string sql =
                "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE "
                "'\\_sqlrep\\_%' ESCAPE '\\' AND tbl_name NOT LIKE '\\_sqlrep\\_%' ESCAPE '\\'";
            json::object body{{"command", "query"}};
            if (words.size() == 2) {
                sql += " AND (name = ?1 COLLATE NOCASE OR tbl_name = ?1 COLLATE NOCASE)";
                body["params"] = json::array{words[1]};
            }
            body["query"] = sql + " ORDER BY rowid";
            Answer answer = node_.post(body);
            if (!answer.ok()) throw std::runtime_error(answer.error());
            for (const json::value& row : array_field(answer.body.as_object(), "rows"))
                out_ << value_text(row.as_array().at(0)) << ";\n";
        } else if (name == ".status") {
            timed = true;
            print_status(node_, printer_);
        } else if (name == ".nodes") {
            timed = true;
            print_cluster(node_, printer_, out_);
        } else if (name == ".dump") {
            timed = true;
            out_ << dump_database(node_);
        } else if (name == ".read") {
            if (words.size() != 2) throw std::invalid_argument("usage: .read FILE");
            read_file(words[1]);
            if (quit_) return Step::quit;
        } else {
            fail("unknown command " + name + ": .help lists the commands");
        }
    } catch (const std::exception& e) {
        fail(e.what());
    }
    out_.flush();
    if (timed && timer_) {
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        out_ << "Run Time: " << std::fixed << std::setprecision(3) << ms << " ms\n"
             << std::defaultfloat;
    }
    return Step::go_on;
}

void Shell::read_file(const std::string& path) {
    if (read_depth_ >= kMaxReadDepth) return fail(".read nested too deeply (" + path + ")");
    std::ifstream file(path);
    if (!file) return fail("cannot open " + path);
    StreamLineSource source(file);
    ++read_depth_;
    run(source);  // .quit in the file sets quit_: it ends the whole shell
    --read_depth_;
}

void Shell::run_statement(const std::string& sql) {
    switch (classify(sql)) {
        case StatementKind::begin:
            if (transaction_)
                fail("a transaction is open already (the shell does not nest them)");
            else
                transaction_.emplace();
            return;
        case StatementKind::commit:
            if (!transaction_) return fail("no transaction is open");
            return commit();
        case StatementKind::rollback:
            if (!transaction_) return fail("no transaction is open");
            transaction_.reset();
            return;
        case StatementKind::read:
            if (transaction_) break;
            return send(json::object{{"command", "query"}, {"query", sql}}, true);
        case StatementKind::write:
            if (transaction_) break;
            return send(json::object{{"command", "exec"}, {"query", sql}}, false);
    }
    transaction_->push_back(sql);
}

void Shell::commit() {
    std::vector<std::string> statements = std::move(*transaction_);
    transaction_.reset();
    if (statements.empty()) return;
    json::array batch;
    for (const std::string& s : statements) batch.push_back(json::object{{"query", s}});
    send(json::object{{"command", "exec"}, {"batch", std::move(batch)}}, false);
}

void Shell::send(const json::object& body, bool as_query) {
    auto started = Clock::now();
    Answer answer;
    try {
        answer = node_.post(body);
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    if (!answer.ok()) return fail(answer.error());
    const json::object& result = answer.body.as_object();
    if (as_query) {
        if (result.contains("results")) {
            for (const json::value& r : array_field(result, "results"))
                printer_.print_rows(array_field(r.as_object(), "columns"),
                                    array_field(r.as_object(), "rows"));
        } else {
            printer_.print_rows(array_field(result, "columns"), array_field(result, "rows"));
        }
    } else {
        for (const json::value& r : array_field(result, "results"))
            if (r.as_object().contains("columns"))  // RETURNING, or a read in a batch
                printer_.print_rows(array_field(r.as_object(), "columns"),
                                    array_field(r.as_object(), "rows"));
        printer_.print_write(int_field(result, "rows_affected"),
                             int_field(result, "last_insert_id"), int_field(result, "index"));
    }
    if (timer_) {
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        out_ << "Run Time: " << std::fixed << std::setprecision(3) << ms << " ms\n"
             << std::defaultfloat;
        out_.flush();
    }
}

void Shell::fail(const std::string& message) {
    out_.flush();
    err_ << "Error: " << message << '\n';
    err_.flush();
    failed_ = true;
}

void Shell::print_help() { out_ << kHelp; }

}  // namespace sqlrep::shell
