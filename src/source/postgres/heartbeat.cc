#include "source/postgres/heartbeat.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/retry.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_source_config.h"

namespace sluice::pg {

Heartbeat::Heartbeat(const Config& config, Telemetry& telemetry) : config_(config), telemetry_(telemetry) {
  if (pg::settings_of(config.source).heartbeat_interval.count() > 0) thread_ = std::thread([this] { run(); });
}

Heartbeat::~Heartbeat() {
  stop_.request();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::run() {
  PgConnection connection;
  auto& sent = telemetry_.metrics.heartbeats_sent.series();
  auto& errors = telemetry_.metrics.heartbeat_errors.series();
  auto emit = [&] {
    try {
      if (!connection.is_open() || !connection.is_ok()) {
        connection.close();
        connection = PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal);
      }
      connection.exec_params("SELECT pg_logical_emit_message(true, 'sluice.heartbeat', $1)", {pg::settings_of(config_.source).slot});
      add(sent, 1);
    } catch (const Error& e) {
      add(errors, 1);
      if (e.retryable()) connection.close();
      throw;
    }
  };
  try {
    while (!stop_.wait_for(pg::settings_of(config_.source).heartbeat_interval)) {
      retry_transient("PostgreSQL (heartbeat)", config_.retry, stop_, emit);
    }
  } catch (const StopRequested&) {
  } catch (const std::exception& e) {
    spdlog::warn("heartbeats stopped: {} (lag in seconds is measured only while tables change; see "
                 "docs/operations.md)", e.what());
  }
}

}  // namespace sluice::pg
