// The source thread of a run: reads the replication stream of one slot, decodes
// pgoutput, and feeds every sink runner's queue in commit order.
//
// Acknowledgement (invariant 3): the flush LSN sent to PostgreSQL is the minimum
// of what every sink runner reports durable. Status updates go out every
// status_interval even while a sink is slow and its queue is full (the loop
// waits on the queue in short slices and keeps sending), so the walsender never
// times out. When no transaction is open, a server keepalive's WAL end is queued
// as SourceIdle: once the sinks have applied everything before it, the slot
// advances past WAL that no captured table wrote (idle slots never pin WAL). The
// loop asks for such keepalives at every status update while idle.
//
// A dropped connection is retried with the retry policy; streaming resumes from
// the slot's confirmed position and replayed changes are dropped by position.
//
// Telemetry: changes and transactions received, the connection's state, the
// server's WAL end and the slot's lag in bytes (WAL end minus what sluice has
// confirmed) go to the metrics; connects and outages to the health.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/sink_runner.h"
#include "core/stop_signal.h"
#include "core/telemetry.h"

namespace sluice::pg {

class StreamLoop {
 public:
  // `finish`: set (e.g. by SIGTERM) to end the run gracefully: stop reading,
  // let every sink apply what is queued, send the final acknowledgement.
  // `stop`: hard stop (a sink failed, or a second signal).
  // `known_shapes`: each captured table's shape as every sink holding rows
  // has it stored ("" or absent: unknown); tables whose current shape differs
  // are re-synced while streaming (table_resync.h).
  StreamLoop(const Config& config, std::vector<SinkRunner*> runners, std::atomic<bool>& finish,
             StopSignal& stop, Telemetry& telemetry, std::map<std::string, std::string> known_shapes = {});

  // Streams until finish or stop. Throws the first fatal error (after letting the
  // sinks drain and acknowledging what they applied).
  void run();

 private:
  const Config& config_;
  std::vector<SinkRunner*> runners_;
  std::atomic<bool>& finish_;
  StopSignal& stop_;
  Telemetry& telemetry_;
  std::map<std::string, std::string> known_shapes_;
};

}  // namespace sluice::pg
