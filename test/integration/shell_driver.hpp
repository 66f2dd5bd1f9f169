#pragma once
// Driving the sqlrep shell (tools/shell) in tests: on a pseudo-terminal as a person types
// (TerminalShell), or with stdin from a file and stdout and stderr apart (run_shell), in a
// temp dir removed afterwards (TempDir). Every wait is bounded; a TerminalShell still
// running when destroyed is killed. Main thread only.

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cluster.hpp"

extern char** environ;

// A namespace of its own: other test headers of sqlrep::test have a TempDir too.
namespace sqlrep::test::shell_driver {

inline constexpr std::chrono::milliseconds kTerminalTimeout = 30s;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
  public:
    TempDir() {
        std::string base = "/tmp";
        if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
        std::string pattern = base + "/sqlrep-shell-XXXXXX";
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = buffer.data();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name, const std::string& content) const {
        std::string p = path_ + "/" + name;
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }

  private:
    std::string path_;
};

inline std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The shell on a pseudo-terminal: what a person at a terminal does (keys in, screen out).
// HOME is `home` (its history file lands there), TERM is xterm and the locale C.UTF-8. The
// destructor kills the shell when it still runs.
class TerminalShell {
  public:
    TerminalShell(const std::vector<std::string>& args, const std::string& home) {
        std::vector<std::string> env_strings = {"HOME=" + home, "TERM=xterm", "LC_ALL=C.UTF-8"};
        for (char** e = environ; *e != nullptr; ++e) {
            std::string entry = *e;
            if (entry.rfind("HOME=", 0) != 0 && entry.rfind("TERM=", 0) != 0 &&
                entry.rfind("LC_ALL=", 0) != 0)
                env_strings.push_back(entry);
        }
        std::vector<std::string> argv_strings = {binary_path("sqlrep")};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_strings) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);

        winsize size{};
        size.ws_row = 50;
        size.ws_col = 250;  // wide: no line of the test wraps
        pid_ = ::forkpty(&fd_, nullptr, nullptr, &size);
        if (pid_ < 0) throw std::runtime_error("forkpty failed");
        if (pid_ == 0) {
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
    }
    ~TerminalShell() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) ::close(fd_);
    }
    TerminalShell(const TerminalShell&) = delete;
    TerminalShell& operator=(const TerminalShell&) = delete;

    // Keys as typed: "\r" is Enter, "\x1b[A" the Up arrow.
    void type(const std::string& keys) {
        size_t sent = 0;
        while (sent < keys.size()) {
            ssize_t n = ::write(fd_, keys.data() + sent, keys.size() - sent);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("cannot write to the shell's terminal");
            sent += static_cast<size_t>(n);
        }
    }

    // Waits until `text` appears on the screen after what earlier expects consumed, and
    // consumes up to its end. Throws (with the screen so far) when the timeout passes or
    // the shell ends first.
    void expect(const std::string& text, std::chrono::milliseconds timeout = kTerminalTimeout) {
        auto deadline = Clock::now() + timeout;
        while (true) {
            if (size_t at = screen_.find(text, cursor_); at != std::string::npos) {
                cursor_ = at + text.size();
                return;
            }
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0 || !read_some(left))
                throw std::runtime_error("the shell did not show \"" + text +
                                         "\"; its terminal since the last match:\n" +
                                         screen_.substr(cursor_));
        }
    }

    // Waits for the shell to exit and returns its exit code (-1 when killed by a signal);
    // kills it and throws when it does not exit within the timeout.
    int wait_exit(std::chrono::milliseconds timeout = kTerminalTimeout) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            read_some(50ms);  // keep the terminal drained so the shell never blocks on it
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
        }
        throw std::runtime_error("the shell did not exit; its terminal:\n" + screen_);
    }

    const std::string& screen() const { return screen_; }
    void kill() { ::kill(pid_, SIGKILL); }

  private:
    // Reads what is there within `timeout`; false at the end of output (the shell exited).
    bool read_some(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (ready <= 0) return ready == 0 || errno == EINTR;
        char buffer[4096];
        ssize_t n = ::read(fd_, buffer, sizeof buffer);
        if (n <= 0) return false;  // EIO: the other side of the terminal closed
        screen_.append(buffer, static_cast<size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    std::string screen_;
    size_t cursor_ = 0;
};

// Runs the shell with `args` and stdin from `input_file` (none when empty); stdout and
// stderr apart. An SQLREP_TOKEN of the environment running the tests is not passed on.
struct PipeRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// `env`: "NAME=value ..." set for the shell alone.
inline PipeRun run_shell(const TempDir& dir, const std::string& args,
                         const std::string& input_file = "", const std::string& env = "") {
    std::string out_path = dir.path() + "/stdout";
    std::string err_path = dir.path() + "/stderr";
    // A script of its own, so its redirections are not run_command's.
    std::string command = "env -u SQLREP_TOKEN " + env + " " + binary_path("sqlrep") + " " + args +
                          " >" + out_path + " 2>" + err_path;
    command += input_file.empty() ? " </dev/null" : " <" + input_file;
    std::string script = dir.file("run.sh", command + "\n");
    CommandRun run = run_command("sh " + script, /*with_stderr=*/false);
    return {run.exit_code, read_whole(out_path), read_whole(err_path)};
}

inline std::string node_arg(Node& node) { return "--node " + node.url(); }

}  // namespace sqlrep::test::shell_driver
