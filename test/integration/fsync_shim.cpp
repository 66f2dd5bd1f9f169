// An LD_PRELOAD library that gets between a node and its disk's syncs, for tests that need
// a disk that fails or a disk that is slow, in the one process it is preloaded into.
// SQLite syncs through libc, so interposing fsync and fdatasync covers it.
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
// A slow sync (snapshot_test.cpp):
//   SQLREP_SLOW_FSYNC_MATCH=text    every sync of a file whose path contains `text`...
//   SQLREP_SLOW_FSYNC_MS=n          ...first sleeps n milliseconds
//
// Every other call goes to libc untouched.
// Built without sanitizers (test/CMakeLists.txt): it is loaded before their runtimes.

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

namespace {

using SyncFn = int (*)(int);

bool ends_with(const char* text, const char* suffix) {
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

// The path of the file `fd` is open on ("" if unknown).
void path_of(int fd, char (&path)[PATH_MAX]) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
}

bool is_wal(int fd) {
    char path[PATH_MAX];
    path_of(fd, path);
    return ends_with(path, "-wal");
}

void maybe_slow_down(int fd) {
    const char* match = getenv("SQLREP_SLOW_FSYNC_MATCH");
    const char* ms = getenv("SQLREP_SLOW_FSYNC_MS");
    if (match == nullptr || *match == '\0' || ms == nullptr) return;
    char path[PATH_MAX];
    path_of(fd, path);
    if (strstr(path, match) == nullptr) return;
    long delay = atol(ms);
    const timespec pause{delay / 1000, (delay % 1000) * 1000 * 1000};
    nanosleep(&pause, nullptr);
}

void wait_for_release() {
    const char* release = getenv("SQLREP_FAIL_FSYNC_RELEASE");
    if (release == nullptr || *release == '\0') return;
    const timespec step{0, 10 * 1000 * 1000};
    for (int i = 0; i < 6000 && access(release, F_OK) != 0; ++i) nanosleep(&step, nullptr);
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
    maybe_slow_down(fd);
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

extern "C" int fsync(int fd) { return sync_with("fsync", fd); }
extern "C" int fdatasync(int fd) { return sync_with("fdatasync", fd); }
