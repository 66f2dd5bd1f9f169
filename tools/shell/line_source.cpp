#include "line_source.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <editline/readline.h>

namespace sqlrep::shell {

namespace {

constexpr int kHistoryEntries = 1000;

// SIGINT while readline waits for a line (EditLineSource::read_line installs the handler
// around that call only) sets the flag and writes to the wake pipe, which the character
// reader polls beside stdin: a signal that comes before the reader blocks still wakes it.
// All a signal handler may touch; the pipe is made once, by the first EditLineSource.
volatile std::sig_atomic_t g_interrupted = 0;
int g_wake_pipe[2] = {-1, -1};

void note_interrupt(int) {
    g_interrupted = 1;
    char byte = 1;
    ssize_t ignored = ::write(g_wake_pipe[1], &byte, 1);  // non-blocking: a full pipe will do
    (void)ignored;
}

// One byte of stdin; false at its end, on an error, or when SIGINT came.
bool read_byte(unsigned char& byte) {
    while (g_interrupted == 0) {
        pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {g_wake_pipe[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (fds[1].revents != 0) {
            char drain[64];
            while (::read(g_wake_pipe[0], drain, sizeof drain) > 0) {
            }
            continue;
        }
        if (fds[0].revents == 0) continue;
        ssize_t n = ::read(STDIN_FILENO, &byte, 1);
        if (n == 1) return true;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
    return false;
}

// readline's character reader (rl_getc_function): the next character typed, as a Unicode
// code point decoded from UTF-8 (libedit takes it as one wide character), or -1 at the end
// of input or on SIGINT, which ends readline with null.
int read_character(FILE*) {
    unsigned char first = 0;
    if (!read_byte(first)) return -1;
    int length = first < 0x80             ? 1
                 : (first & 0xE0) == 0xC0 ? 2
                 : (first & 0xF0) == 0xE0 ? 3
                 : (first & 0xF8) == 0xF0 ? 4
                                          : 1;
    if (length == 1) return first;
    int code_point = first & (0x7F >> length);
    for (int i = 1; i < length; ++i) {
        unsigned char next = 0;
        if (!read_byte(next)) return -1;
        code_point = (code_point << 6) | (next & 0x3F);
    }
    return code_point;
}

}  // namespace

ReadResult StreamLineSource::read_line(bool, std::string& line) {
    if (!std::getline(in_, line)) return ReadResult::end;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return ReadResult::line;
}

EditLineSource::EditLineSource(std::string history_file) : history_file_(std::move(history_file)) {
    if (g_wake_pipe[0] < 0 && ::pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        g_wake_pipe[0] = g_wake_pipe[1] = -1;  // then a ^C waits for the next key
    rl_readline_name = "sqlrep";
    rl_getc_function = read_character;  // before libedit initializes (using_history does)
    using_history();
    stifle_history(kHistoryEntries);
    if (!history_file_.empty()) read_history(history_file_.c_str());
}

EditLineSource::~EditLineSource() = default;

ReadResult EditLineSource::read_line(bool continuation, std::string& line) {
    std::cout.flush();
    // Without SA_RESTART: the signal interrupts the reader's poll; readline returns null.
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
