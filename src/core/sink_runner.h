// Drives one sink on its own thread: takes items from its ChangeQueue, groups
// them into batches (whole transactions, unless one is larger than the batch
// bounds), applies each batch through the sink with the retry policy, and
// publishes the position up to which the sink is durable (for the ack coordinator).
//
// Changes whose position is not newer than the sink's checkpoint are dropped
// (replays after a restart or a reconnect of the source). A non-transient error
// is sticky: the runner records it, requests the process-wide stop and exits.
//
// Sink reset (SinkWasReset: the store came back empty): with a RebuildStarter
// (on_reset = "rebuild") the runner starts the rebuild, applies the same batch
// again and goes on streaming while the rebuild copies rows in the background; a
// rebuild that fails transiently is started again, any other failure is fatal.
// Without one (on_reset = "stop") the reset is a fatal error.
//
// Telemetry: the runner reports what it applies, its queue, its lag and its
// errors into the metrics, and its progress and failures into the health
// (core/telemetry.h); without a Telemetry it reports into one of its own.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/background_task.h"
#include "core/change_queue.h"
#include "core/sink.h"
#include "core/change_counts.h"
#include "core/retry.h"
#include "core/sink_bounds.h"
#include "core/stop_signal.h"
#include "core/telemetry.h"

namespace sluice {

class SinkRunner {
 public:
  // `applied`: the sink's stored checkpoint (changes at or before it are dropped).
  // `durable`: the position the source may already be acknowledged to for this sink.
  // `rebuild`: empty for on_reset = "stop". `rebuild_first`: start a rebuild
  // before anything else (the sink came back empty while sluice was down, or a
  // rebuild was interrupted).
  SinkRunner(std::unique_ptr<Sink> sink, const SinkBounds& bounds, const RetryConfig& retry,
             StopSignal& stop, std::optional<Position> applied, Position durable,
             RebuildStarter rebuild = {}, bool rebuild_first = false, Telemetry* telemetry = nullptr);
  ~SinkRunner();
  SinkRunner(const SinkRunner&) = delete;
  SinkRunner& operator=(const SinkRunner&) = delete;

  const std::string& name() const { return name_; }
  // For its configuration (Sink::holds_table), from any thread.
  const Sink& sink() const { return *sink_; }
  ChangeQueue& queue() { return queue_; }

  void start();
  // Asks the thread to apply everything queued, then exit. Returns at once.
  void finish();
  void join();

  // True once the thread has exited (finished, stopped or failed).
  bool done() const { return done_.load(); }
  // What the source may be acknowledged to for this sink. Thread-safe.
  Position durable() const;
  std::optional<std::string> failure() const;
  uint64_t changes_applied() const { return changes_applied_.load(); }

 private:
  void run();
  // Applies the batch (if any) and publishes its durable position.
  void flush();
  // The batch reached its bounds: applies its whole transactions and keeps the
  // one still open for the next batch; splits a transaction only when it alone
  // fills the batch.
  void flush_full();
  void apply_batch();
  // A table re-sync's mark (core/change_queue.h), in stream order.
  void apply_resync_mark(const TableResync& mark);
  // The sink's apply() with its failures counted and reported.
  void apply_observed();
  // Metrics and health after a successful flush.
  void report_flush(bool wrote);
  // Nothing to apply: probes the store now and then (Sink::probe), so that an
  // outage is seen while idle.
  void probe_while_idle();
  static constexpr auto kProbeInterval = std::chrono::seconds(1);
  std::chrono::steady_clock::time_point last_contact_{};
  std::optional<std::chrono::steady_clock::time_point> probe_failing_since_;  // one log line per outage
  void start_rebuild();
  // Acts on the rebuild's outcome: forgets it when done, starts it again after a
  // transient failure, throws Error::state after any other.
  void check_rebuild();

  std::unique_ptr<Sink> sink_;
  std::string name_;
  size_t batch_max_changes_;
  size_t batch_max_bytes_;
  RetryConfig retry_;
  StopSignal& stop_;
  ChangeQueue queue_;
  std::thread thread_;
  std::atomic<bool> finishing_{false};
  std::atomic<bool> done_{false};
  RebuildStarter rebuild_starter_;
  bool rebuild_first_;
  std::unique_ptr<BackgroundTask> rebuild_;  // owned by the runner thread

  // Owned by the runner thread.
  std::optional<Position> applied_;
  Batch batch_;
  size_t batch_bytes_ = 0;
  size_t whole_changes_ = 0;  // changes of batch_ up to its last transaction boundary
  std::optional<Position> batch_durable_;
  std::optional<std::chrono::system_clock::time_point> batch_commit_time_;  // of its last transaction

  std::unique_ptr<Telemetry> own_telemetry_;  // when the caller gave none
  Telemetry& telemetry_;
  struct Series {
    std::atomic<double>* batches;
    std::atomic<double>* queue_bytes;
    std::atomic<double>* lag;
    std::atomic<double>* last_lsn;
    std::atomic<double>* last_commit_time;
    std::atomic<double>* last_write;
    std::atomic<double>* retries;
    std::atomic<double>* skipped;
    std::atomic<double>* dead_letters;
  } series_;
  ChangeCounts applied_counts_;

  mutable std::mutex durable_mutex_;
  Position durable_;  // guarded by durable_mutex_
  std::atomic<uint64_t> changes_applied_{0};
  mutable std::mutex failure_mutex_;
  std::optional<std::string> failure_;
};

}  // namespace sluice
