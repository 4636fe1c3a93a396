// Heartbeats: every source.heartbeat_interval_ms, one transactional logical
// message (pg_logical_emit_message, prefix "sluice.heartbeat") in the source
// database, on a connection and a thread of their own. Each one reaches the
// replication stream as a tiny transaction of its own (the stream asks for
// messages), so that on a quiet database the replication lag keeps being
// measured (it has a commit time) and the slot keeps advancing (its end is
// acknowledged once the sinks have applied everything before it).
//
// Any role may call pg_logical_emit_message unless the DBA revoked it. A
// transient failure is retried with the retry policy (logged once per outage);
// any other (e.g. permission denied, or a read-only server) is logged once and
// ends the heartbeats, never the run.
#pragma once

#include <thread>

#include "config/config.h"
#include "core/stop_signal.h"
#include "core/telemetry.h"

namespace sluice::pg {

class Heartbeat {
 public:
  // Starts the thread; does nothing when the interval is zero.
  Heartbeat(const Config& config, Telemetry& telemetry);
  // Stops and joins the thread. Never throws.
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void run();

  const Config& config_;
  Telemetry& telemetry_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace sluice::pg
