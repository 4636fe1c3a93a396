// Copying the tables into sinks under an exported snapshot: the initial snapshot
// (every sink, under the snapshot exported when the slot was created, so copied
// rows and streamed changes neither overlap nor leave a gap) and the rebuild of one
// sink after a reset (pipeline/sink_rebuild.h). Tables are spread over
// source.snapshot_workers threads; each reads its table in primary-key chunks
// (source/postgres/snapshot_reader.h) with its own connection and its own sink
// instances. Rows carry the consistent point's position, older than any
// streamed change after that point. Progress (rows done of the estimated total, rate,
// time left) is logged every 10 seconds, or drawn as a live line every half
// second on a terminal (live_progress), and reported into the telemetry.
//
// The exported snapshot stays importable only while the replication connection
// that created the slot is open and idle: the caller keeps it so until this returns.
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
#include "core/position.h"
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
  std::string snapshot_name;      // exported by the slot's creation
  Position snapshot_at;           // the data as of this position (every row's)
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
