#include "core/sink_runner.h"

#include <spdlog/spdlog.h>

#include "core/retry.h"

namespace sluice {

SinkRunner::SinkRunner(std::unique_ptr<Sink> sink, const SinkConfig& config, const RetryConfig& retry,
                       StopSignal& stop, std::optional<Position> applied, Lsn durable)
    : sink_(std::move(sink)),
      name_(config.name),
      batch_max_changes_(config.batch_max_changes),
      batch_max_bytes_(config.batch_max_bytes),
      retry_(retry),
      stop_(stop),
      queue_(config.queue_max_bytes),
      applied_(applied),
      durable_(durable.value()) {}

SinkRunner::~SinkRunner() {
  if (thread_.joinable()) {
    stop_.request();
    thread_.join();
  }
}

void SinkRunner::start() {
  thread_ = std::thread([this] {
    run();
    done_.store(true);
  });
}
void SinkRunner::finish() { finishing_.store(true); }
void SinkRunner::join() {
  if (thread_.joinable()) thread_.join();
}

std::optional<std::string> SinkRunner::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

void SinkRunner::run() {
  std::deque<QueueItem> pending;
  bool at_boundary = true;  // the last item taken ended a transaction (or nothing taken yet)
  try {
    for (;;) {
      if (stop_.requested()) return;
      if (pending.empty()) {
        queue_.pop(pending, batch_max_changes_ + 16, batch_max_bytes_, std::chrono::milliseconds(50));
      }
      if (pending.empty()) {
        // Nothing more right now. Apply what we hold if it ends at a transaction
        // boundary; mid-transaction, wait for the rest (it is being decoded) so
        // the transaction becomes visible at once — unless we are shutting down.
        if ((at_boundary || finishing_.load()) && (!batch_.changes.empty() || batch_durable_)) flush();
        if (finishing_.load() && queue_.empty()) {
          if (!batch_.changes.empty() || batch_durable_) flush();
          return;
        }
        continue;
      }
      while (!pending.empty()) {
        QueueItem item = std::move(pending.front());
        pending.pop_front();
        if (auto* change = std::get_if<ChangePtr>(&item)) {
          at_boundary = false;
          if (applied_ && (*change)->position <= *applied_) continue;  // already in the store
          batch_bytes_ += (*change)->byte_size();
          batch_.changes.push_back(std::move(*change));
          if (batch_.changes.size() >= batch_max_changes_ || batch_bytes_ >= batch_max_bytes_) flush();
        } else if (auto* end = std::get_if<TransactionEnd>(&item)) {
          at_boundary = true;
          batch_durable_ = end->end_lsn;
        } else if (auto* idle = std::get_if<SourceIdle>(&item)) {
          at_boundary = true;
          batch_durable_ = idle->lsn;
        }
      }
    }
  } catch (const StopRequested&) {
    return;
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(failure_mutex_);
      failure_ = std::string("sink '") + name_ + "': " + e.what();
    }
    stop_.request();
  }
}

void SinkRunner::flush() {
  if (!batch_.changes.empty()) {
    batch_.checkpoint = batch_.changes.back()->position;
    retry_transient("sink '" + name_ + "'", retry_, stop_, [&] { sink_->apply(batch_); });
    applied_ = batch_.checkpoint;
    changes_applied_.fetch_add(batch_.changes.size());
  }
  if (batch_durable_ && batch_durable_->value() > durable_.load()) durable_.store(batch_durable_->value());
  batch_.changes.clear();
  batch_.checkpoint.reset();
  batch_bytes_ = 0;
  batch_durable_.reset();
}

}  // namespace sluice
