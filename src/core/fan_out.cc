#include "core/fan_out.h"

#include <algorithm>

#include "core/error.h"
#include "core/retry.h"

namespace sluice {

FanOut::FanOut(std::vector<SinkRunner*> runners, StopSignal& stop) : runners_(std::move(runners)), stop_(stop) {
  if (runners_.empty()) throw Error::internal("a pipeline without sinks");
  routers_.reserve(runners_.size());
  for (auto* runner : runners_) routers_.emplace_back(runner->sink());
}

void FanOut::push(const QueueItem& item, const std::function<void()>& keep_alive) {
  const ChangePtr* change = std::get_if<ChangePtr>(&item);
  for (size_t i = 0; i < runners_.size(); ++i) {
    SinkRunner* runner = runners_[i];
    if (change != nullptr && !routers_[i].routes((*change)->relation)) continue;
    while (!runner->queue().push(item, kPushSlice)) {
      if (stop_.requested()) throw StopRequested{};
      keep_alive();
    }
  }
}

Position FanOut::durable() const {
  Position ack = runners_.front()->durable();
  for (auto* runner : runners_) ack = std::min(ack, runner->durable());
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
