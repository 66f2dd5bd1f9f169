#include "line_source.hpp"

#include <signal.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include <editline/readline.h>

namespace sqlrep::shell {

namespace {

constexpr int kHistoryEntries = 1000;

// Set by SIGINT while readline waits for a line (EditLineSource::read_line installs the
// handler around that call only): all a signal handler may touch.
volatile std::sig_atomic_t g_interrupted = 0;

void note_interrupt(int) { g_interrupted = 1; }

}  // namespace

ReadResult StreamLineSource::read_line(bool, std::string& line) {
    if (!std::getline(in_, line)) return ReadResult::end;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return ReadResult::line;
}

EditLineSource::EditLineSource(std::string history_file) : history_file_(std::move(history_file)) {
    rl_readline_name = "sqlrep";
    using_history();
    stifle_history(kHistoryEntries);
    if (!history_file_.empty()) read_history(history_file_.c_str());
}

EditLineSource::~EditLineSource() = default;

ReadResult EditLineSource::read_line(bool continuation, std::string& line) {
    std::cout.flush();
    // Without SA_RESTART: the signal interrupts libedit's read, and readline returns null.
    struct sigaction on_interrupt {};
    on_interrupt.sa_handler = note_interrupt;
    sigemptyset(&on_interrupt.sa_mask);
    struct sigaction previous {};
    g_interrupted = 0;
    ::sigaction(SIGINT, &on_interrupt, &previous);
    char* text = readline(continuation ? "   ...> " : "sqlrep> ");
    ::sigaction(SIGINT, &previous, nullptr);
    if (text == nullptr) {
        if (g_interrupted == 0) return ReadResult::end;
        std::cout << '\n';
        return ReadResult::interrupted;
    }
    line = text;
    std::free(text);
    return ReadResult::line;
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
