#include "core/retry.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

namespace sluice {

std::chrono::milliseconds Backoff::next() {
  using std::chrono::milliseconds;
  double base = static_cast<double>(config_.initial_backoff.count());
  double cap = static_cast<double>(config_.max_backoff.count());
  double delay = std::min(cap, base * static_cast<double>(1ULL << std::min(attempt_, 30)));
  ++attempt_;
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return milliseconds(static_cast<int64_t>(std::min(cap, delay * jitter(rng))));
}

void retry_transient(const std::string& what, const RetryConfig& config, StopSignal& stop,
                     const std::function<void()>& attempt,
                     const std::function<void()>& while_waiting) {
  Backoff backoff(config);
  std::optional<std::chrono::steady_clock::time_point> outage_start;
  int failures = 0;
  for (;;) {
    try {
      attempt();
      if (outage_start) {
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - *outage_start).count();
        spdlog::info("{}: recovered after {:.1f}s and {} failed attempts", what, secs, failures);
      }
      return;
    } catch (const Error& e) {
      if (!e.retryable()) throw;
      ++failures;
      if (!outage_start) {
        outage_start = std::chrono::steady_clock::now();
        spdlog::warn("{}: {}; retrying with backoff", what, e.what());
      }
    }
    auto deadline = std::chrono::steady_clock::now() + backoff.next();
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (stop.wait_for(std::min(left, std::chrono::milliseconds(500)))) throw StopRequested{};
      if (while_waiting) while_waiting();
    }
  }
}

}  // namespace sluice
