#pragma once
// One child process started by bench (a sqlrep node or a dqlite-demo node): fork/exec
// with stdout and stderr appended to a log file, killed with SIGKILL by the parent thread
// when it dies (PR_SET_PDEATHSIG) or by our destructor, whichever comes first.
//
// Thread contract: driven from bench's main thread only. pid() may be read anywhere.

#include <sys/types.h>

#include <string>
#include <vector>

namespace sqlrep::bench {

class ChildProcess {
  public:
    // Starts `binary` with `args` at once. Throws std::runtime_error when fork fails; an
    // exec failure shows as an early exit (see running()) and in the log.
    ChildProcess(std::string name, const std::string& binary, const std::vector<std::string>& args,
                 const std::string& log_path);
    ~ChildProcess();  // kill()
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // SIGKILL and waitpid. No-op once reaped.
    void kill();
    // SIGSTOP / SIGCONT.
    void stop();
    void resume();
    // False once the process has exited (reaps it).
    bool running();

    const std::string& name() const { return name_; }
    pid_t pid() const { return pid_; }
    const std::string& log_path() const { return log_path_; }
    // The last `max_lines` lines of the log, for error messages.
    std::string log_tail(std::size_t max_lines) const;

  private:
    std::string name_;
    std::string log_path_;
    pid_t pid_ = -1;
};

// Kibibytes from /proc/<pid>/status for `field` ("VmHWM", "VmRSS"); -1 when unreadable.
long proc_status_kib(pid_t pid, const std::string& field);

}  // namespace sqlrep::bench
