#include "core/sink_runner.h"

#include <spdlog/spdlog.h>

#include "core/retry.h"

namespace sluice {

namespace {
// The gauge of a position (the source's number for it; 0 when it has none).
double position_number(const Position& position) {
  const PositionFormat& format = position_format();
  return format.as_number && !position.empty() ? format.as_number(position) : 0.0;
}
}  // namespace

SinkRunner::SinkRunner(std::unique_ptr<Sink> sink, const SinkBounds& bounds, const RetryConfig& retry,
                       StopSignal& stop, std::optional<Position> applied, Position durable,
                       RebuildStarter rebuild, bool rebuild_first, Telemetry* telemetry)
    : sink_(std::move(sink)),
      name_(sink_->name()),
      batch_max_changes_(bounds.batch_max_changes),
      batch_max_bytes_(bounds.batch_max_bytes),
      retry_(retry),
      stop_(stop),
      queue_(bounds.queue_max_bytes),
      rebuild_starter_(std::move(rebuild)),
      rebuild_first_(rebuild_first),
      applied_(applied),
      own_telemetry_(telemetry ? nullptr : std::make_unique<Telemetry>()),
      telemetry_(telemetry ? *telemetry : *own_telemetry_),
      series_{&telemetry_.metrics.batches_applied.series({name_}),
              &telemetry_.metrics.queue_bytes.series({name_}),
              &telemetry_.metrics.replication_lag_seconds.series({name_}),
              &telemetry_.metrics.last_applied_lsn.series({name_}),
              &telemetry_.metrics.last_applied_commit_time.series({name_}),
              &telemetry_.metrics.last_write_time.series({name_}),
              &telemetry_.metrics.sink_retries.series({name_}),
              &telemetry_.metrics.changes_skipped.series({name_}),
              &telemetry_.metrics.dead_letters.series({name_})},
      applied_counts_(telemetry_.metrics.changes_applied, {name_}),
      durable_(std::move(durable)) {
  set(*series_.last_lsn, position_number(durable_));
  for (const char* kind : {"transient", "fatal"}) telemetry_.metrics.sink_errors.series({name_, kind});
}

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

Position SinkRunner::durable() const {
  std::lock_guard lock(durable_mutex_);
  return durable_;
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
        set(*series_.queue_bytes, static_cast<double>(queue_.bytes()));
      }
      if (pending.empty()) {
        if (batch_.changes.empty() && !batch_durable_) {  // idle
          telemetry_.health.sink_progress(name_);
          probe_while_idle();
        }
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
      telemetry_.health.sink_waiting(name_);
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
          batch_durable_ = end->end;
          batch_commit_time_ = end->commit_time;
          whole_changes_ = batch_.changes.size();
        } else if (auto* idle = std::get_if<SourceIdle>(&item)) {
          at_boundary = true;
          batch_durable_ = idle->at;
          whole_changes_ = batch_.changes.size();
        } else if (auto* resync = std::get_if<TableResync>(&item)) {
          apply_resync_mark(*resync);
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
    telemetry_.health.sink_failed(name_, e.what());
    stop_.request();
  }
}

void SinkRunner::flush() {
  const bool wrote = !batch_.changes.empty();
  if (wrote) {
    batch_.checkpoint = batch_.changes.back()->position;
    apply_batch();
    applied_ = batch_.checkpoint;
    changes_applied_.fetch_add(batch_.changes.size());
  }
  if (batch_durable_) {
    std::lock_guard lock(durable_mutex_);
    if (*batch_durable_ > durable_) durable_ = *batch_durable_;
  }
  report_flush(wrote);
  batch_.changes.clear();
  batch_.checkpoint.reset();
  batch_bytes_ = 0;
  batch_durable_.reset();
  batch_commit_time_.reset();
  whole_changes_ = 0;
}

void SinkRunner::report_flush(bool wrote) {
  const auto now = std::chrono::system_clock::now();
  auto unix_seconds = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  if (wrote) {
    last_contact_ = std::chrono::steady_clock::now();
    probe_failing_since_.reset();
    telemetry_.health.sink_succeeded(name_);
    add(*series_.batches, 1);
    set(*series_.last_write, unix_seconds(now));
    for (const ChangePtr& change : batch_.changes) applied_counts_.count(*change);
    const SinkTotals totals = sink_->totals();
    set(*series_.skipped, static_cast<double>(totals.skipped));
    set(*series_.dead_letters, static_cast<double>(totals.dead_lettered));
  }
  if (batch_durable_) set(*series_.last_lsn, position_number(durable()));
  if (batch_commit_time_ && batch_commit_time_->time_since_epoch().count() != 0) {
    set(*series_.lag, std::max(0.0, std::chrono::duration<double>(now - *batch_commit_time_).count()));
    set(*series_.last_commit_time, unix_seconds(*batch_commit_time_));
  }
  telemetry_.health.sink_progress(name_);
  if (!wrote) probe_while_idle();
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
      retry_transient("sink '" + name_ + "'", retry_, stop_, [&] { apply_observed(); }, [&] { check_rebuild(); });
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

void SinkRunner::apply_resync_mark(const TableResync& mark) {
  RowStore* rows = sink_->row_store();
  if (rows == nullptr) return;  // it holds no rows: the re-sync's inserts are all it gets
  if (mark.phase == TableResync::Phase::kStart) {
    retry_transient("sink '" + name_ + "' (re-sync of " + mark.table + ")", retry_, stop_,
                    [&] { rows->store_table_shape(mark.table, ""); });
    return;
  }
  // Everything before the mark must be in the store before older rows are judged.
  if (!batch_.changes.empty()) flush();
  uint64_t removed = 0;
  retry_transient("sink '" + name_ + "' (re-sync of " + mark.table + ")", retry_, stop_, [&] {
    removed = rows->remove_rows_older_than(mark.table, mark.since);
    rows->store_table_shape(mark.table, mark.shape);
  });
  if (removed > 0) {
    spdlog::info("sink '{}': re-sync of {} removed {} row(s) no longer in the table", name_, mark.table, removed);
  }
}

void SinkRunner::probe_while_idle() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_contact_ < kProbeInterval) return;
  last_contact_ = now;
  try {
    sink_->probe();
    telemetry_.health.sink_succeeded(name_);
    if (probe_failing_since_) {
      const double seconds = std::chrono::duration<double>(now - *probe_failing_since_).count();
      spdlog::info("sink '{}': reachable again after {:.1f}s", name_, seconds);
      probe_failing_since_.reset();
    }
  } catch (const Error& e) {
    if (!e.retryable()) throw;
    add(telemetry_.metrics.sink_errors.series({name_, "transient"}), 1);
    telemetry_.health.sink_failed(name_, e.what());
    if (!probe_failing_since_) {
      probe_failing_since_ = now;
      spdlog::warn("sink '{}' (idle): {}; the next change waits for it", name_, e.what());
    }
  }
}

void SinkRunner::apply_observed() {
  try {
    sink_->apply(batch_);
  } catch (const Error& e) {
    const char* kind = e.retryable() ? "transient" : dynamic_cast<const SinkWasReset*>(&e) ? "reset" : "fatal";
    add(telemetry_.metrics.sink_errors.series({name_, kind}), 1);
    if (e.retryable()) add(*series_.retries, 1);
    telemetry_.health.sink_failed(name_, e.what());
    throw;
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
