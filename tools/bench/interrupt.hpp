#pragma once
// SIGINT/SIGTERM handling for bench. install() blocks both signals in every thread (call it
// before starting any) and starts a watcher thread that sets a flag when one arrives;
// long waits poll that flag through check() and unwind with Interrupted, so every
// destructor (children killed, temp dirs removed) runs on the way out. A second signal
// exits at once; the children die with us through PR_SET_PDEATHSIG.

#include <chrono>
#include <stdexcept>

namespace sqlrep::bench {

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

namespace interrupt {

void install();
bool requested();
// Throws Interrupted when a signal has arrived.
void check();
// Sleeps `duration` in short slices, throwing Interrupted as soon as a signal arrives.
void sleep_for(std::chrono::milliseconds duration);

}  // namespace interrupt
}  // namespace sqlrep::bench
