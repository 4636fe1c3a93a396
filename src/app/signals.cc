#include "app/signals.h"

#include <csignal>
#include <pthread.h>
#include <thread>

#include <spdlog/spdlog.h>

namespace sluice {

void watch_termination_signals(std::atomic<bool>& finish, StopSignal& stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &finish, &stop] {
    for (;;) {
      int signal = 0;
      if (sigwait(&set, &signal) != 0) continue;
      if (!finish.exchange(true)) {
        spdlog::info("received {}: finishing the batch in flight, then exiting (send it again to stop at once)",
                     signal == SIGTERM ? "SIGTERM" : "SIGINT");
      } else {
        spdlog::warn("received a second signal: stopping now");
        stop.request();
      }
    }
  }).detach();
}

}  // namespace sluice
