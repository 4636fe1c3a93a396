#include "pipeline/sink_rebuild.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/retry.h"

namespace sluice {

SinkRebuild::SinkRebuild(const Config& config, const SinkConfig& sink_config, Source& source, Sink& sink,
                         SinkFactory make_sink)
    : config_(config),
      sink_config_(sink_config),
      make_sink_(std::move(make_sink)),
      label_(fmt::format("rebuild of sink '{}'", sink_config.name)) {
  RebuildTarget* target = sink.rebuild_target();
  if (target == nullptr) {
    throw Error::internal(fmt::format("{}: the sink cannot be rebuilt (it has no RebuildTarget)", label_));
  }
  if (sink.row_store() == nullptr) {
    target->begin_rebuild(source.stream_name(), std::nullopt);
    spdlog::info("{}: its checkpoint is stored again; it holds no rows to copy, so it simply goes on", label_);
    status_.store(Status::kDone);
    return;
  }
  snapshot_ = source.open_copy_point();
  copy_point_ = snapshot_->at();
  target->begin_rebuild(source.stream_name(), copy_point_);
  spdlog::info("{}: copying every table at {} while streaming goes on", label_, copy_point_.str());
  thread_ = std::thread([this] { copy(); });
}

SinkRebuild::~SinkRebuild() {
  cancel_.request();
  if (thread_.joinable()) thread_.join();
}

std::string SinkRebuild::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

bool SinkRebuild::failure_is_transient() const {
  std::lock_guard lock(failure_mutex_);
  return transient_;
}

void SinkRebuild::copy() {
  try {
    SnapshotCopy copy{snapshot_.get(), {sink_config_}, true, label_};
    const SnapshotResult result = copy_snapshot(config_, copy, make_sink_, finish_, cancel_);
    snapshot_.reset();  // no longer needed (PostgreSQL: drops the temporary slot)
    auto sink = make_sink_(sink_config_);
    // A store that went back in time (writes lost in a failover, a restart from
    // older data) still holds rows deleted since: every row that existed at the
    // copy point was just copied at it, or changed by the stream after it, so a
    // row still older than the copy point is one the source no longer has.
    uint64_t removed = 0;
    for (const std::string& table : config_.source.tables) {
      if (!sink->holds_table(table)) continue;
      retry_transient(label_, config_.retry, cancel_, [&] {
        sink->load_checkpoint();
        removed += sink->row_store()->remove_rows_older_than(table, copy_point_);
      });
    }
    if (removed > 0) spdlog::info("{}: removed {} rows the copy did not have (left from before the reset)", label_, removed);
    retry_transient(label_, config_.retry, cancel_, [&] {
      sink->load_checkpoint();
      RebuildTarget* rebuilt = sink->rebuild_target();
      if (rebuilt == nullptr) throw Error::internal(label_ + ": the sink cannot be rebuilt (it has no RebuildTarget)");
      rebuilt->finish_rebuild(copy_point_, config_.source.tables);
    });
    spdlog::info("{}: done, {} rows copied in {:.1f}s; the sink is whole again", label_, result.rows, result.seconds);
    status_.store(Status::kDone);
  } catch (const StopRequested&) {
    std::lock_guard lock(failure_mutex_);
    failure_ = "cancelled";
    transient_ = true;
    status_.store(Status::kFailed);
  } catch (const Error& e) {
    std::lock_guard lock(failure_mutex_);
    failure_ = e.what();
    // A reset during the copy (the store emptied again) starts it over too.
    transient_ = e.retryable() || dynamic_cast<const SinkWasReset*>(&e) != nullptr;
    status_.store(Status::kFailed);
  } catch (const std::exception& e) {
    std::lock_guard lock(failure_mutex_);
    failure_ = std::string("internal error: ") + e.what();
    status_.store(Status::kFailed);
  }
}

}  // namespace sluice
