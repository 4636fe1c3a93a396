// What GET /healthz answers (app/metrics_server.h), from what the source, the
// sinks and the snapshot report as they work.
//
// Healthy (200) while the stream is connected and every sink keeps writing:
// starting up, copying the initial snapshot and retrying an outage are all
// healthy until they have lasted `stall_timeout`; so is waiting as a standby
// while another instance is active, however long. Unhealthy (503, with a short
// reason) when, for longer than `stall_timeout`:
//   - the run has not started streaming (and is not copying the snapshot);
//   - the replication stream has been disconnected, or connected but silent
//     (no message from the server: sluice asks for one every status interval);
//   - a sink's writes have failed continuously;
//   - a sink has had changes waiting but applied nothing;
//   - the snapshot has copied no row.
// Every condition ends by itself when the cause does: health comes back without
// a restart.
//
// Thread-safe: reporters are the source, sink and snapshot threads; check() is
// called by the HTTP server. Times are steady_clock, passed in by the reporters
// so that the rules are unit-tested without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace sluice {

class Health {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Health(std::chrono::milliseconds stall_timeout, Clock::time_point started = Clock::now());

  // How long a connected stream may stay silent (default: stall_timeout). The
  // run sets at least three status intervals: sluice asks the server for a
  // message once per interval while idle.
  void set_silence_timeout(std::chrono::milliseconds timeout) { silence_timeout_ = timeout; }

  // ---- reports ----
  void standby();                                      // waiting for the active instance
  void starting(Clock::time_point now = Clock::now());  // (again) on the way to streaming
  void snapshot_started(Clock::time_point now = Clock::now());
  void snapshot_rows(Clock::time_point now = Clock::now());  // some rows were copied
  void snapshot_finished();
  void source_connected(Clock::time_point now = Clock::now());
  void source_disconnected(const std::string& reason, Clock::time_point now = Clock::now());
  // A message arrived from the server (data or keepalive). Lock-free: called
  // for every message.
  void source_message(Clock::time_point now = Clock::now()) {
    last_message_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  // A sink dealt with everything it had waiting (wrote it, or had nothing to write).
  void sink_progress(const std::string& sink);
  // A sink's store answered: a write or a probe succeeded (ends a failure).
  void sink_succeeded(const std::string& sink);
  // A sink has items waiting: from now on, it must make progress.
  void sink_waiting(const std::string& sink, Clock::time_point now = Clock::now());
  void sink_failed(const std::string& sink, const std::string& reason, Clock::time_point now = Clock::now());

  // ---- the verdict ----
  struct Verdict {
    bool healthy = true;
    std::string reason;  // one line: "streaming", or what is wrong and since when
  };
  Verdict check(Clock::time_point now = Clock::now()) const;

 private:
  struct SinkState {
    std::optional<Clock::time_point> failing_since;
    std::string failure;
    std::optional<Clock::time_point> waiting_since;  // changes wait, no progress since
  };
  enum class Phase { kStandby, kStarting, kSnapshot, kStreaming };

  const std::chrono::milliseconds stall_timeout_;
  std::chrono::milliseconds silence_timeout_;
  mutable std::mutex mutex_;
  Phase phase_ = Phase::kStarting;
  Clock::time_point phase_since_;
  Clock::time_point snapshot_progress_;
  bool source_up_ = false;
  std::optional<Clock::time_point> source_down_since_;
  std::string source_failure_;
  std::atomic<Clock::rep> last_message_{0};
  std::map<std::string, SinkState> sinks_;
};

}  // namespace sluice
