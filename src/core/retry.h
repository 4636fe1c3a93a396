// The one retry policy of sluice: capped exponential backoff with jitter for
// Error::transient, immediate propagation of every other error. Outages are
// logged once when they start and once when they end, never per attempt.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/stop_signal.h"

namespace sluice {

// [retry] in the configuration (docs/configuration.md).
struct RetryConfig {
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
};

class Backoff {
 public:
  explicit Backoff(const RetryConfig& config) : config_(config) {}
  // The next delay: initial, then doubling up to max, with +-20% jitter.
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }

 private:
  RetryConfig config_;
  int attempt_ = 0;
};

// Thrown by retry_transient when stop was requested while waiting to retry.
struct StopRequested {};

// Calls `attempt` until it returns without throwing. On Error::transient: logs
// "<what>: <error>; retrying" once per outage, waits with backoff (calling
// `while_waiting` at least every 500 ms, e.g. to keep a replication connection
// alive) and tries again. When it succeeds after an outage, logs how long it took.
// Any other exception propagates. Throws StopRequested if `stop` is requested
// while waiting.
void retry_transient(const std::string& what, const RetryConfig& config, StopSignal& stop,
                     const std::function<void()>& attempt,
                     const std::function<void()>& while_waiting = {});

}  // namespace sluice
