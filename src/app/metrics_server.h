// The HTTP endpoint of a run ([metrics] listen): GET /metrics (the Prometheus
// text format, core/metrics.h) and GET /healthz (200 or 503 with one line of
// reason, core/health.h). Served by cpp-httplib (docs/dependencies.md) on a
// pool of two threads of its own; nothing it serves contains a secret (the
// metrics hold names and numbers, the health reasons come from errors that
// never carry a password).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/telemetry.h"

namespace httplib {
class Server;
}

namespace sluice {

class MetricsServer {
 public:
  // Binds config.host:config.port at once, throwing Error::config naming
  // metrics.listen when it cannot; then serves until destroyed. `telemetry`
  // must outlive the server.
  MetricsServer(const MetricsConfig& config, Telemetry& telemetry);
  // Stops serving and joins its threads. Never throws.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port it listens on (the one picked when config.port is 0).
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace sluice
