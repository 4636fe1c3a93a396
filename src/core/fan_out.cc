#include "core/fan_out.h"

#include <algorithm>

#include "core/error.h"
#include "core/retry.h"

namespace sluice {

FanOut::FanOut(std::vector<SinkRunner*> runners, StopSignal& stop) : runners_(std::move(runners)), stop_(stop) {
  if (runners_.empty()) throw Error::internal("a pipeline without sinks");
}

void FanOut::push(const QueueItem& item, const std::function<void()>& keep_alive) {
  for (auto* runner : runners_) {
    while (!runner->queue().push(item, kPushSlice)) {
      if (stop_.requested()) throw StopRequested{};
      keep_alive();
    }
  }
}

Lsn FanOut::durable() const {
  Lsn ack = runners_.front()->durable_lsn();
  for (auto* runner : runners_) ack = std::min(ack, runner->durable_lsn());
  return ack;
}

void FanOut::drain(const std::function<void()>& keep_alive) {
  for (auto* runner : runners_) runner->finish();
  while (std::any_of(runners_.begin(), runners_.end(), [](auto* r) { return !r->done(); })) {
    stop_.wait_for(std::chrono::milliseconds(50));
    keep_alive();
  }
  for (auto* runner : runners_) runner->join();
}

}  // namespace sluice
