#include "core/sink_runner.h"

#include <spdlog/spdlog.h>

#include "core/retry.h"

namespace sluice {

SinkRunner::SinkRunner(std::unique_ptr<Sink> sink, const SinkConfig& config, const RetryConfig& retry,
                       StopSignal& stop, std::optional<Position> applied, Lsn durable,
                       RebuildStarter rebuild, bool rebuild_first)
    : sink_(std::move(sink)),
      name_(config.name),
      batch_max_changes_(config.batch_max_changes),
      batch_max_bytes_(config.batch_max_bytes),
      retry_(retry),
      stop_(stop),
      queue_(config.queue_max_bytes),
      rebuild_starter_(std::move(rebuild)),
      rebuild_first_(rebuild_first),
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
    rebuild_.reset();  // cancels a rebuild still copying; the next run starts it again
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
    if (rebuild_first_) start_rebuild();
    for (;;) {
      if (stop_.requested()) return;
      check_rebuild();
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
          if (batch_.changes.size() >= batch_max_changes_ || batch_bytes_ >= batch_max_bytes_) flush_full();
        } else if (auto* end = std::get_if<TransactionEnd>(&item)) {
          at_boundary = true;
          batch_durable_ = end->end_lsn;
          whole_changes_ = batch_.changes.size();
        } else if (auto* idle = std::get_if<SourceIdle>(&item)) {
          at_boundary = true;
          batch_durable_ = idle->lsn;
          whole_changes_ = batch_.changes.size();
        }
      }
      // Group commit: whatever arrived while the last batch was being applied
      // goes out together, as soon as nothing more is waiting — not when the
      // batch is full, so under a steady load changes are applied promptly.
      if (at_boundary && queue_.empty() && (!batch_.changes.empty() || batch_durable_)) flush();
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
    apply_batch();
    applied_ = batch_.checkpoint;
    changes_applied_.fetch_add(batch_.changes.size());
  }
  if (batch_durable_ && batch_durable_->value() > durable_.load()) durable_.store(batch_durable_->value());
  batch_.changes.clear();
  batch_.checkpoint.reset();
  batch_bytes_ = 0;
  batch_durable_.reset();
  whole_changes_ = 0;
}

void SinkRunner::flush_full() {
  if (whole_changes_ == 0 || whole_changes_ == batch_.changes.size()) {
    flush();  // one transaction larger than the bounds: split it here
    return;
  }
  // Apply the whole transactions; the one in progress starts the next batch.
  std::vector<ChangePtr> open(std::make_move_iterator(batch_.changes.begin() + whole_changes_),
                              std::make_move_iterator(batch_.changes.end()));
  batch_.changes.resize(whole_changes_);
  flush();
  batch_.changes = std::move(open);
  for (const auto& change : batch_.changes) batch_bytes_ += change->byte_size();
}

}  // namespace sluice

namespace sluice {

void SinkRunner::apply_batch() {
  for (;;) {
    try {
      retry_transient("sink '" + name_ + "'", retry_, stop_, [&] { sink_->apply(batch_); },
                      [&] { check_rebuild(); });
      return;
    } catch (const SinkWasReset& e) {
      if (!rebuild_starter_) {
        throw Error::state(std::string(e.what()) +
                           "; on_reset = \"stop\": stopping. Set on_reset = \"rebuild\" to rebuild the sink "
                           "while streaming, or run `sluice run --resnapshot`");
      }
      spdlog::warn("sink '{}': {}; rebuilding it from a fresh snapshot while streaming goes on", name_, e.what());
      start_rebuild();
    }
  }
}

void SinkRunner::start_rebuild() {
  rebuild_.reset();  // a rebuild the new reset made useless
  retry_transient("sink '" + name_ + "' (starting a rebuild)", retry_, stop_,
                  [&] { rebuild_ = rebuild_starter_(*sink_); });
}

void SinkRunner::check_rebuild() {
  if (!rebuild_) return;
  switch (rebuild_->status()) {
    case BackgroundTask::Status::kRunning:
      return;
    case BackgroundTask::Status::kDone:
      rebuild_.reset();
      return;
    case BackgroundTask::Status::kFailed:
      if (!rebuild_->failure_is_transient()) {
        throw Error::state("the rebuild failed: " + rebuild_->failure());
      }
      spdlog::warn("sink '{}': the rebuild was interrupted ({}); starting it again", name_, rebuild_->failure());
      start_rebuild();
      return;
  }
}

}  // namespace sluice
