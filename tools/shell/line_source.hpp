#pragma once
// Where the shell's input lines come from: a terminal, with line editing and history
// (libedit's readline interface), or any stream (a pipe, a file for .read, -c text) with
// no prompt. Not thread-safe; libedit keeps global state, so one EditLineSource at a time.

#include <istream>
#include <optional>
#include <string>

namespace sqlrep::shell {

class LineSource {
  public:
    virtual ~LineSource() = default;
    // The next line without its newline; nullopt at the end of input. `continuation`:
    // a statement has begun and goes on (the prompt says so).
    virtual std::optional<std::string> read_line(bool continuation) = 0;
    // A complete statement or command the user entered, for the history.
    virtual void remember(const std::string& entry) { (void)entry; }
};

class StreamLineSource : public LineSource {
  public:
    explicit StreamLineSource(std::istream& in) : in_(in) {}
    std::optional<std::string> read_line(bool continuation) override;

  private:
    std::istream& in_;
};

// Prompts "sqlrep> " and "   ...> " on the terminal. The history is read from
// `history_file` at construction (when it exists) and written back, at most 1000
// entries, after each entry; "" keeps no file.
class EditLineSource : public LineSource {
  public:
    explicit EditLineSource(std::string history_file);
    ~EditLineSource() override;
    EditLineSource(const EditLineSource&) = delete;
    EditLineSource& operator=(const EditLineSource&) = delete;

    std::optional<std::string> read_line(bool continuation) override;
    void remember(const std::string& entry) override;

  private:
    std::string history_file_;
    std::string last_entry_;
};

// $HOME/.sqlrep_history, or "" when HOME is not set.
std::string default_history_file();

}  // namespace sqlrep::shell
