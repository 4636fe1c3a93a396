#include "core/health.h"

#include <fmt/format.h>

namespace sluice {

namespace {
double seconds(Health::Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Health::Health(std::chrono::milliseconds stall_timeout, Clock::time_point started)
    : stall_timeout_(stall_timeout), silence_timeout_(stall_timeout), phase_since_(started), snapshot_progress_(started) {}

void Health::standby() {
  std::lock_guard lock(mutex_);
  phase_ = Phase::kStandby;
}

void Health::starting(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  phase_ = Phase::kStarting;
  phase_since_ = now;
}

void Health::snapshot_started(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  phase_ = Phase::kSnapshot;
  phase_since_ = now;
  snapshot_progress_ = now;
}

void Health::snapshot_rows(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  snapshot_progress_ = now;
}

void Health::snapshot_finished() {
  std::lock_guard lock(mutex_);
  if (phase_ != Phase::kSnapshot) return;
  phase_ = Phase::kStarting;
  phase_since_ = Clock::now();
}

void Health::source_connected(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (phase_ != Phase::kStreaming) phase_since_ = now;
  phase_ = Phase::kStreaming;
  source_up_ = true;
  source_message(now);
  source_down_since_.reset();
  source_failure_.clear();
}

void Health::source_disconnected(const std::string& reason, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  source_up_ = false;
  if (!source_down_since_) source_down_since_ = now;
  source_failure_ = reason;
}

void Health::sink_progress(const std::string& sink) {
  std::lock_guard lock(mutex_);
  sinks_[sink].waiting_since.reset();
}

void Health::sink_succeeded(const std::string& sink) {
  std::lock_guard lock(mutex_);
  SinkState& state = sinks_[sink];
  state.failing_since.reset();
  state.failure.clear();
}

void Health::sink_waiting(const std::string& sink, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  SinkState& state = sinks_[sink];
  if (!state.waiting_since) state.waiting_since = now;
}

void Health::sink_failed(const std::string& sink, const std::string& reason, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  SinkState& state = sinks_[sink];
  if (!state.failing_since) state.failing_since = now;
  if (!state.waiting_since) state.waiting_since = now;
  state.failure = reason;
}

Health::Verdict Health::check(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto late = [&](Clock::time_point since) { return now - since > stall_timeout_; };
  for (const auto& [name, state] : sinks_) {
    if (state.failing_since && late(*state.failing_since)) {
      return {false, fmt::format("sink '{}' has failed for {:.0f}s: {}", name, seconds(now - *state.failing_since),
                                 state.failure)};
    }
    if (state.waiting_since && late(*state.waiting_since)) {
      return {false, fmt::format("sink '{}' has applied nothing for {:.0f}s while changes wait", name,
                                 seconds(now - *state.waiting_since))};
    }
  }
  switch (phase_) {
    case Phase::kStandby:
      return {true, "standby: another sluice is active for this slot"};
    case Phase::kStarting:
      if (late(phase_since_)) return {false, fmt::format("not streaming after {:.0f}s", seconds(now - phase_since_))};
      return {true, "starting"};
    case Phase::kSnapshot:
      if (late(snapshot_progress_)) {
        return {false, fmt::format("the initial snapshot has copied no row for {:.0f}s",
                                   seconds(now - snapshot_progress_))};
      }
      return {true, "copying the initial snapshot"};
    case Phase::kStreaming:
      if (source_down_since_ && late(*source_down_since_)) {
        return {false, fmt::format("the replication stream has been down for {:.0f}s: {}",
                                   seconds(now - *source_down_since_), source_failure_)};
      }
      if (source_up_) {
        const Clock::time_point last{Clock::duration(last_message_.load(std::memory_order_relaxed))};
        if (now - last > silence_timeout_) {
          return {false, fmt::format("no message from PostgreSQL for {:.0f}s on a connected replication stream",
                                     seconds(now - last))};
        }
      }
      return {true, source_up_ ? "streaming" : "reconnecting to PostgreSQL"};
  }
  return {true, "streaming"};
}

}  // namespace sluice
