#include "line_source.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <editline/readline.h>

namespace sqlrep::shell {

namespace {
constexpr int kHistoryEntries = 1000;
}

std::optional<std::string> StreamLineSource::read_line(bool) {
    std::string line;
    if (!std::getline(in_, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

EditLineSource::EditLineSource(std::string history_file) : history_file_(std::move(history_file)) {
    rl_readline_name = "sqlrep";
    using_history();
    stifle_history(kHistoryEntries);
    if (!history_file_.empty()) read_history(history_file_.c_str());
}

EditLineSource::~EditLineSource() = default;

std::optional<std::string> EditLineSource::read_line(bool continuation) {
    std::cout.flush();
    char* line = readline(continuation ? "   ...> " : "sqlrep> ");
    if (line == nullptr) return std::nullopt;
    std::string text(line);
    std::free(line);
    return text;
}

void EditLineSource::remember(const std::string& entry) {
    if (entry.empty() || entry == last_entry_) return;
    add_history(entry.c_str());
    last_entry_ = entry;
    // At once, not at exit: a shell ended by Ctrl-C or a closed terminal keeps its history.
    if (!history_file_.empty()) write_history(history_file_.c_str());
}

std::string default_history_file() {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') return "";
    return std::string(home) + "/.sqlrep_history";
}

}  // namespace sqlrep::shell
