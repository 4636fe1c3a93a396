// SIGTERM/SIGINT handling for `sluice run`: the first signal asks for a graceful
// finish (apply the batch in flight, acknowledge, exit 0), a second one stops at
// once. Signals are blocked in every thread and taken by one watcher thread with
// sigwait, so no work happens in a signal handler.
#pragma once

#include <atomic>

#include "core/stop_signal.h"

namespace sluice {

// Must be called before any other thread starts. `finish` and `stop` must outlive
// the process (the watcher thread is detached).
void watch_termination_signals(std::atomic<bool>& finish, StopSignal& stop);

}  // namespace sluice
