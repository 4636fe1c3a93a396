// Copying the tables into sinks from a source's consistent snapshot
// (core/consistent_snapshot.h): the initial snapshot (every sink, under the
// snapshot taken when the retained stream was created, so copied rows and
// streamed changes neither overlap nor leave a gap) and the rebuild of one sink
// after a reset (pipeline/sink_rebuild.h). The source cuts the tables into parts;
// source.snapshot_workers threads copy them, each with its own reader and its own
// sink instances, and each sink gets only the tables it holds
// (Sink::holds_table). Rows carry the snapshot's position, older than any
// streamed change after it. Progress (rows done of the estimated total, rate,
// time left) is logged every 10 seconds, or drawn as a live line every half
// second on a terminal (live_progress), and reported into the telemetry.
//
// The snapshot must stay readable until this returns (the caller keeps it).
// Errors: sink outages are retried; anything else (or a stop) aborts the copy and
// is rethrown; the sinks stay marked "snapshot (or rebuild) in progress", so the
// next run restarts it cleanly.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/consistent_snapshot.h"
#include "core/sink.h"
#include "core/stop_signal.h"
#include "core/telemetry.h"

namespace sluice {

using SinkFactory = std::function<std::unique_ptr<Sink>(const SinkConfig&)>;

struct SnapshotResult {
  uint64_t rows = 0;
  double seconds = 0;
};

struct SnapshotCopy {
  ConsistentSnapshot* snapshot = nullptr;  // read from this (outlives the copy)
  std::vector<SinkConfig> sinks;  // copy into these
  bool rebuild = false;           // rows are Batch::rebuild rows, not initial snapshot rows
  std::string label = "snapshot"; // log prefix
  Telemetry* telemetry = nullptr; // the initial snapshot's rows (metrics) and progress (health)
  bool live_progress = false;     // standard error is a terminal: draw a live progress line
};

// `stop` is requested when the copy fails (so the other workers end early).
SnapshotResult copy_snapshot(const Config& config, const SnapshotCopy& copy, const SinkFactory& make_sink,
                             std::atomic<bool>& finish, StopSignal& stop);

}  // namespace sluice
