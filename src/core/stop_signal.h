// A one-way "please stop" flag that sleeping threads can wait on. Set from a
// signal handler thread (see app/signals.h) or when a thread fails; every loop
// in sluice checks it between units of work and waits on it instead of sleeping.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace sluice {

class StopSignal {
 public:
  void request() {
    {
      std::lock_guard lock(mutex_);
      requested_.store(true);
    }
    cv_.notify_all();
  }
  bool requested() const { return requested_.load(); }

  // Sleeps up to `timeout`; returns true (early) when stop was requested.
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return requested_.load(); });
  }

 private:
  std::atomic<bool> requested_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace sluice
