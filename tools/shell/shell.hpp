#pragma once
// The shell's interpreter: reads lines from a LineSource, runs complete SQL statements
// against one node and the dot-commands itself, and prints through a ResultPrinter.
//
// - A statement ends at its ';' (sql_text.hpp); a read (SELECT, WITH ... SELECT, VALUES,
//   EXPLAIN, PRAGMA) is sent as {"command":"query"}, anything else as {"command":"exec"},
//   one statement per request.
// - BEGIN ... COMMIT is kept by the shell: the statements in between are collected and
//   sent at COMMIT as one atomic exec batch (the node refuses transaction control itself);
//   ROLLBACK drops them. Input that ends inside a transaction drops it with an error.
// - Dot-commands are one line each and only where no statement has begun; .help lists
//   them.
// Errors (the node's error text, or why it could not be reached) go to the error stream;
// the shell goes on with the next statement and remembers that something failed.
// Shell thread only; blocks on the node.

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "line_source.hpp"
#include "node_connection.hpp"
#include "result_printer.hpp"

namespace sqlrep::shell {

class Shell {
  public:
    Shell(NodeConnection& node, std::ostream& out, std::ostream& err);

    // Runs every line of `source` until its end or .quit. Returns false after .quit.
    bool run(LineSource& source);
    void set_mode(OutputMode mode) { printer_.set_mode(mode); }
    // Whether any statement or command failed so far.
    bool failed() const { return failed_; }

  private:
    enum class Step { go_on, quit };

    Step run_dot_command(const std::string& line);
    void run_statement(const std::string& sql);
    void send(const json::object& body, bool as_query);
    void commit();
    void read_file(const std::string& path);
    void fail(const std::string& message);
    void print_help();

    NodeConnection& node_;
    std::ostream& out_;
    std::ostream& err_;
    ResultPrinter printer_;
    bool timer_ = false;
    bool failed_ = false;
    bool quit_ = false;                                    // .quit ran
    int read_depth_ = 0;                                   // nested .read files
    std::optional<std::vector<std::string>> transaction_;  // statements since BEGIN
};

}  // namespace sqlrep::shell
