// Drives one sink on its own thread: takes items from its ChangeQueue, groups
// them into batches (whole transactions, unless one is larger than the batch
// bounds), applies each batch through the sink with the retry policy, and
// publishes the LSN up to which the sink is durable (for the ack coordinator).
//
// Changes whose position is not newer than the sink's checkpoint are dropped
// (replays after a restart or a reconnect of the source). A non-transient error
// is sticky: the runner records it, requests the process-wide stop and exits.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/change_queue.h"
#include "core/sink.h"
#include "core/stop_signal.h"

namespace sluice {

class SinkRunner {
 public:
  // `applied`: the sink's stored checkpoint (changes at or before it are dropped).
  // `durable`: the LSN the source may already be acknowledged to for this sink.
  SinkRunner(std::unique_ptr<Sink> sink, const SinkConfig& config, const RetryConfig& retry,
             StopSignal& stop, std::optional<Position> applied, Lsn durable);
  ~SinkRunner();
  SinkRunner(const SinkRunner&) = delete;
  SinkRunner& operator=(const SinkRunner&) = delete;

  const std::string& name() const { return name_; }
  ChangeQueue& queue() { return queue_; }

  void start();
  // Asks the thread to apply everything queued, then exit. Returns at once.
  void finish();
  void join();

  // True once the thread has exited (finished, stopped or failed).
  bool done() const { return done_.load(); }
  Lsn durable_lsn() const { return Lsn(durable_.load()); }
  std::optional<std::string> failure() const;
  uint64_t changes_applied() const { return changes_applied_.load(); }

 private:
  void run();
  void flush();

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

  // Owned by the runner thread.
  std::optional<Position> applied_;
  Batch batch_;
  size_t batch_bytes_ = 0;
  std::optional<Lsn> batch_durable_;

  std::atomic<uint64_t> durable_;
  std::atomic<uint64_t> changes_applied_{0};
  mutable std::mutex failure_mutex_;
  std::optional<std::string> failure_;
};

}  // namespace sluice
