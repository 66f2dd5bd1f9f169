#pragma once
// Where the shell's input lines come from: a terminal, with line editing and history
// (libedit's readline interface), or any stream (a pipe, a file for .read, -c text) with
// no prompt. Not thread-safe; libedit keeps global state, so one EditLineSource at a time.

#include <istream>
#include <string>

namespace sqlrep::shell {

enum class ReadResult {
    line,         // a line was read
    end,          // the end of input
    interrupted,  // Ctrl-C while the line was typed: drop what was begun
};

class LineSource {
  public:
    virtual ~LineSource() = default;
    // The next line, without its newline, into `line`. `continuation`: a statement has
    // begun and goes on (the prompt says so).
    virtual ReadResult read_line(bool continuation, std::string& line) = 0;
    // A complete statement or command the user entered, for the history.
    virtual void remember(const std::string& entry) { (void)entry; }
};

class StreamLineSource : public LineSource {
  public:
    explicit StreamLineSource(std::istream& in) : in_(in) {}
    ReadResult read_line(bool continuation, std::string& line) override;

  private:
    std::istream& in_;
};

// Prompts "sqlrep> " and "   ...> " on the terminal. The history is read from
// `history_file` at construction (when it exists) and written back, at most 1000
// entries, after each entry; "" keeps no file. While a line is typed (and only then),
// SIGINT means "interrupted"; elsewhere it keeps its disposition (a request in flight is
// not cancelled by Ctrl-C: the default ends the shell).
class EditLineSource : public LineSource {
  public:
    explicit EditLineSource(std::string history_file);
    ~EditLineSource() override;
    EditLineSource(const EditLineSource&) = delete;
    EditLineSource& operator=(const EditLineSource&) = delete;

    ReadResult read_line(bool continuation, std::string& line) override;
    void remember(const std::string& entry) override;

  private:
    std::string history_file_;
    std::string last_entry_;
};

// $HOME/.sqlrep_history, or "" when HOME is not set.
std::string default_history_file();

}  // namespace sqlrep::shell
