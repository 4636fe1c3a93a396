// Rebuilding one sink after a reset (on_reset = "rebuild"), while streaming into
// it goes on: the store came back empty, so every row is copied again from a
// fresh consistent snapshot.
//
// How it stays exact (docs/architecture.md, "Sink reset"):
//   1. The source opens a consistent snapshot at a new point C, the copy point
//      (Source::open_copy_point; PostgreSQL: a temporary logical slot on a
//      replication connection of its own): the snapshot holds every transaction
//      committed before C and none after.
//   2. sink.begin_rebuild(slot, C) stores the checkpoint again with rebuild=C.
//      Streaming goes on at once, from where the sink was.
//   3. A background thread copies every table at C into new instances of the sink
//      (Batch::rebuild rows, version C). The per-row version guard keeps a row a
//      streamed change made newer; tombstones of deletes and truncates newer than C
//      keep a copied row from bringing a deleted row back; a streamed update whose
//      unchanged TOAST value is in a row not copied yet waits for that row.
//   4. finish_rebuild(C) ends it and drops the tombstones; the snapshot is closed
//      (PostgreSQL: the temporary slot goes with its connection).
// A sink that holds no rows (invalidate, stream) only gets its checkpoint back
// (begin_rebuild(slot, nullopt)): an empty cache is already invalidated, and a
// stream cannot take back what it lost.
// If sluice stops during the copy, the checkpoint still says rebuild=C and the
// next run starts the rebuild again (start_plan.h).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/background_task.h"
#include "core/sink.h"
#include "core/source.h"
#include "core/stop_signal.h"
#include "pipeline/snapshot_copy.h"

namespace sluice {

class SinkRebuild final : public BackgroundTask {
 public:
  // Steps 1 and 2 on the caller's thread (the sink's own: `sink` is used only
  // here), then starts step 3. Throws Error::transient when the source or the
  // store cannot be reached (the caller retries), other Errors as they come.
  // `source` must outlive the rebuild.
  SinkRebuild(const Config& config, const SinkConfig& sink_config, Source& source, Sink& sink, SinkFactory make_sink);
  ~SinkRebuild() override;  // cancels the copy and joins
  SinkRebuild(const SinkRebuild&) = delete;
  SinkRebuild& operator=(const SinkRebuild&) = delete;

  Status status() const override { return status_.load(); }
  std::string failure() const override;
  bool failure_is_transient() const override;

 private:
  void copy();

  const Config& config_;
  SinkConfig sink_config_;
  SinkFactory make_sink_;
  std::string label_;  // "rebuild of sink 'NAME'"
  std::unique_ptr<ConsistentSnapshot> snapshot_;  // the copy point's; closed once copied
  Position copy_point_;

  StopSignal cancel_;
  std::atomic<bool> finish_{false};
  std::atomic<Status> status_{Status::kRunning};
  mutable std::mutex failure_mutex_;
  std::string failure_;
  bool transient_ = false;
  std::thread thread_;
};

}  // namespace sluice
