// What a run reports about itself: its metrics (GET /metrics) and its health
// (GET /healthz). One per process, owned by the run; the source, the sink
// runners and the snapshot copy report into it (app/metrics_server.h serves it).
#pragma once

#include <chrono>

#include "core/health.h"
#include "core/metrics.h"

namespace sluice {

struct Telemetry {
  explicit Telemetry(std::chrono::milliseconds stall_timeout = std::chrono::seconds(30)) : health(stall_timeout) {}
  Metrics metrics;
  Health health;
};

}  // namespace sluice
