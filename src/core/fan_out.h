// Fan-out from the source thread to every sink runner, and the acknowledgement
// rule (invariants 3 and 6): the part of the pipeline every source shares.
//
// push() hands an item to every runner's queue, in order (a change only to the
// runners whose sink holds its table: core/table_router.h). While a queue is full
// it waits in short slices and calls `keep_alive` between them, so that a source
// whose server expects status updates (PostgreSQL's walsender) is answered on
// time however slow a sink is; a stop request ends the wait (StopRequested).
// durable() is what the source may be acknowledged to: the minimum of what
// every runner has made durable. drain() lets every runner apply what it holds,
// keeping the source alive meanwhile, and joins them.
//
// Used from the source thread only; the runners are owned by the caller and
// outlive the FanOut.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "core/change_queue.h"
#include "core/sink_runner.h"
#include "core/stop_signal.h"
#include "core/table_router.h"

namespace sluice {

class FanOut {
 public:
  // `runners` must not be empty.
  FanOut(std::vector<SinkRunner*> runners, StopSignal& stop);

  // Throws StopRequested (core/retry.h) when a stop is requested while waiting.
  void push(const QueueItem& item, const std::function<void()>& keep_alive);
  Position durable() const;
  // Asks every runner to finish, waits for all of them (calling `keep_alive`
  // every 50 ms), and joins them.
  void drain(const std::function<void()>& keep_alive);

 private:
  static constexpr auto kPushSlice = std::chrono::milliseconds(100);
  std::vector<SinkRunner*> runners_;
  std::vector<TableRouter> routers_;  // one per runner
  StopSignal& stop_;
};

}  // namespace sluice
