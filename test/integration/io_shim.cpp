// An LD_PRELOAD library that gets between a node and its disk, for tests that need a disk
// that fails or a disk that is slow, in the one process it is preloaded into. SQLite opens
// and syncs files through libc, so interposing open64, fsync and fdatasync covers it.
//
// A failing sync (fsync_failure_test.cpp):
//   SQLREP_FAIL_FSYNC_TRIGGER=path  while this file exists, the next sync of a file whose
//                                   name ends in "-wal" removes it and fails with EIO
//   SQLREP_FAIL_FSYNC_RELEASE=path  optional: that failing sync first waits (at most 60 s)
//                                   until this file exists, so that the test can see what
//                                   happens while the master's COMMIT is in its fsync
// Removing the trigger is what makes the failure happen once: of two threads syncing at
// once, only one removes the file.
//
// A slow disk (snapshot_test.cpp):
//   SQLREP_SLOW_OPEN_MATCH=text     SQLite's first open(2) of each path containing `text`...
//   SQLREP_SLOW_OPEN_MS=n           ...first sleeps n milliseconds
//
// Every other call goes to libc untouched.
// Built without sanitizers (test/CMakeLists.txt): it is loaded before their runtimes.

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mutex>

namespace {

using SyncFn = int (*)(int);

bool ends_with(const char* text, const char* suffix) {
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

bool is_wal(int fd) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char path[PATH_MAX];
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return false;
    path[n] = '\0';
    return ends_with(path, "-wal");
}

void wait_for_release() {
    const char* release = getenv("SQLREP_FAIL_FSYNC_RELEASE");
    if (release == nullptr || *release == '\0') return;
    const timespec step{0, 10 * 1000 * 1000};
    for (int i = 0; i < 6000 && access(release, F_OK) != 0; ++i) nanosleep(&step, nullptr);
}

// Whether `path` was not opened before (remembers the last one: the test's files are
// opened one after another).
bool first_open(const char* path) {
    static std::mutex mutex;
    static char last[PATH_MAX] = "";
    std::lock_guard<std::mutex> lock(mutex);
    if (strcmp(path, last) == 0) return false;
    snprintf(last, sizeof last, "%s", path);
    return true;
}

void maybe_slow_down(const char* path) {
    const char* match = getenv("SQLREP_SLOW_OPEN_MATCH");
    const char* ms = getenv("SQLREP_SLOW_OPEN_MS");
    if (match == nullptr || *match == '\0' || ms == nullptr || strstr(path, match) == nullptr ||
        !first_open(path))
        return;
    long delay = atol(ms);
    const timespec pause{delay / 1000, (delay % 1000) * 1000 * 1000};
    nanosleep(&pause, nullptr);
}

// True when this call is the one to fail (the trigger was there and this call removed it).
bool fail_this_sync(int fd) {
    const char* trigger = getenv("SQLREP_FAIL_FSYNC_TRIGGER");
    if (trigger == nullptr || *trigger == '\0' || access(trigger, F_OK) != 0) return false;
    if (!is_wal(fd) || unlink(trigger) != 0) return false;
    wait_for_release();
    return true;
}

int sync_with(const char* name, int fd) {
    if (fail_this_sync(fd)) {
        errno = EIO;
        return -1;
    }
    auto real = reinterpret_cast<SyncFn>(dlsym(RTLD_NEXT, name));
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd);
}

}  // namespace

// SQLite opens with open64 (libsqlite3 is built with 64-bit file offsets).
extern "C" int open64(const char* path, int flags, ...) {
    mode_t mode = 0;
    if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
        va_list args;
        va_start(args, flags);
        mode = static_cast<mode_t>(va_arg(args, int));
        va_end(args);
    }
    maybe_slow_down(path);
    using OpenFn = int (*)(const char*, int, ...);
    auto real = reinterpret_cast<OpenFn>(dlsym(RTLD_NEXT, "open64"));
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real(path, flags, mode);
}

extern "C" int fsync(int fd) { return sync_with("fsync", fd); }
extern "C" int fdatasync(int fd) { return sync_with("fdatasync", fd); }
