#include "app/instance_lock.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/retry.h"

namespace sluice {

InstanceLock::InstanceLock(const Config& config, std::atomic<bool>& finish, StopSignal& stop) {
  const std::string key = "sluice slot " + config.source.slot;
  bool announced = false;
  for (;;) {
    if (finish.load()) throw StopRequested{};
    retry_transient("PostgreSQL (instance lock)", config.retry, stop, [&] {
      if (!connection_.is_open() || !connection_.is_ok()) {
        connection_ = pg::PgConnection::connect(config.source.dsn, pg::PgConnection::Mode::kNormal);
      }
    });
    try {
      auto result = connection_.exec_params("SELECT pg_try_advisory_lock(hashtext($1))", {key});
      if (result.value(0, 0) == "t") {
        if (announced) spdlog::info("took over as the active instance for slot '{}'", config.source.slot);
        return;
      }
    } catch (const Error& e) {
      if (!e.retryable()) throw;
      connection_.close();
      continue;
    }
    if (!announced) {
      spdlog::info("another sluice is active for slot '{}'; waiting as a standby", config.source.slot);
      announced = true;
    }
    if (stop.wait_for(std::chrono::seconds(1))) throw StopRequested{};
  }
}

}  // namespace sluice
