// The initial snapshot: copies every configured table into every sink under the
// snapshot exported when the slot was created, so copied rows and streamed
// changes neither overlap nor leave a gap. Tables are spread over
// source.snapshot_workers threads; each reads its table in primary-key chunks
// (source/postgres/snapshot_reader.h) with its own connection and its own sink
// instances. Rows carry Position{consistent_point, 0}, older than any streamed
// change. Progress (rows done / estimated total) is logged every few seconds.
//
// The exported snapshot stays importable only while the replication connection
// that created the slot is open and idle: the caller keeps it so until this returns.
// Errors: sink outages are retried; anything else (or a stop) aborts the copy and
// is rethrown; the sinks stay marked "snapshot in progress", so the next run
// restarts the snapshot cleanly.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/lsn.h"
#include "core/sink.h"
#include "core/stop_signal.h"

namespace sluice {

using SinkFactory = std::function<std::unique_ptr<Sink>(const SinkConfig&)>;

struct SnapshotResult {
  uint64_t rows = 0;
  double seconds = 0;
};

SnapshotResult copy_initial_snapshot(const Config& config, const std::string& snapshot_name, Lsn consistent_point,
                                     const SinkFactory& make_sink, std::atomic<bool>& finish, StopSignal& stop);

}  // namespace sluice
