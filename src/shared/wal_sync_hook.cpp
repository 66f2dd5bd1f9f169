#include "shared/wal_sync_hook.hpp"

#include <exception>

namespace sqlrep {

namespace {
thread_local WalSyncHook* t_hook = nullptr;
}  // namespace

void WalSyncHook::on_frame_write() {
    if (t_hook) t_hook->wrote_frame_ = true;
}

void WalSyncHook::before_sync() {
    WalSyncHook* hook = t_hook;
    if (hook == nullptr || hook->fired_ || !hook->wrote_frame_) return;
    hook->fired_ = true;
    try {
        hook->fn_();
    } catch (const std::exception&) {
        // Nothing may unwind through SQLite's C frames; the caller sees fired() false
        // and does the work after COMMIT instead.
        hook->fired_ = false;
    }
}

WalSyncHook::WalSyncHook(std::function<void()> fn) : fn_(std::move(fn)), previous_(t_hook) {
    t_hook = this;
}

WalSyncHook::~WalSyncHook() { t_hook = previous_; }

}  // namespace sqlrep
