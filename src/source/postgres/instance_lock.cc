#include "source/postgres/instance_lock.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/retry.h"
#include "source/postgres/pg_source_config.h"

namespace sluice {

namespace {
constexpr auto kStandbyPoll = std::chrono::seconds(1);
constexpr auto kGuardPoll = std::chrono::milliseconds(500);
}  // namespace

InstanceLock::InstanceLock(const Config& config, std::atomic<bool>& finish, StopSignal& stop, Health* health)
    : config_(config), stop_(stop), key_("sluice slot " + pg::settings_of(config.source).slot) {
  bool announced = false;
  for (;;) {
    if (finish.load()) throw StopRequested{};
    bool locked = false;
    retry_transient("PostgreSQL (instance lock)", config.retry, stop, [&] { locked = try_lock(); });
    if (locked) break;
    if (!announced) {
      spdlog::info("another sluice is active for slot '{}'; waiting as a standby", pg::settings_of(config.source).slot);
      announced = true;
      if (health) health->standby();
    }
    if (stop.wait_for(kStandbyPoll)) throw StopRequested{};
  }
  if (announced) {
    wait_for_slot_release();
    spdlog::info("took over as the active instance for slot '{}'", pg::settings_of(config.source).slot);
    if (health) health->starting();
  }
  guard_ = std::thread([this] { guard(); });
}

InstanceLock::~InstanceLock() {
  guard_stop_.request();
  if (guard_.joinable()) guard_.join();
}

std::optional<std::string> InstanceLock::lost() const {
  std::lock_guard lock(lost_mutex_);
  return lost_;
}

bool InstanceLock::try_lock() {
  if (!connection_.is_open() || !connection_.is_ok()) {
    connection_.close();
    connection_ = pg::PgConnection::connect(pg::settings_of(config_.source).dsn, pg::PgConnection::Mode::kNormal);
  }
  try {
    return connection_.exec_params("SELECT pg_try_advisory_lock(hashtext($1))", {key_}).value(0, 0) == "t";
  } catch (const Error& e) {
    if (e.retryable()) connection_.close();
    throw;
  }
}

// The previous active instance may still be stopping: its walsender holds the
// slot until it has gone. Waiting here (rather than failing to start streaming)
// keeps the log honest: "took over" means this instance streams next.
void InstanceLock::wait_for_slot_release() {
  bool announced = false;
  for (;;) {
    std::string pid;
    retry_transient("PostgreSQL (instance lock)", config_.retry, stop_, [&] {
      if (!connection_.is_ok()) {
        connection_.close();
        throw Error::transient("the connection holding the instance lock broke while taking over");
      }
      pid = std::string(connection_
                            .exec_params("SELECT coalesce((SELECT active_pid::text FROM pg_replication_slots "
                                         "WHERE slot_name = $1 AND active), '')",
                                         {pg::settings_of(config_.source).slot})
                            .value(0, 0));
    });
    if (pid.empty()) return;
    if (!announced) {
      spdlog::info("waiting for the previous active instance to let slot '{}' go (walsender PID {})",
                   pg::settings_of(config_.source).slot, pid);
      announced = true;
    }
    if (stop_.wait_for(std::chrono::milliseconds(200))) throw StopRequested{};
  }
}

void InstanceLock::guard() {
  bool broken = false;  // the connection broke; the lock is being taken again
  while (!guard_stop_.wait_for(kGuardPoll)) {
    try {
      if (!broken) {
        connection_.exec("SELECT 1");
        continue;
      }
      if (try_lock()) {
        spdlog::warn("instance lock for slot '{}': its connection was lost; taken again", pg::settings_of(config_.source).slot);
        broken = false;
        continue;
      }
      std::string reason = fmt::format(
          "lost the instance lock for slot '{}': its connection broke and another sluice instance took the lock "
          "meanwhile; stopping so that only one instance is active (restart this one to make it a standby)",
          pg::settings_of(config_.source).slot);
      {
        std::lock_guard lock(lost_mutex_);
        lost_ = reason;
      }
      spdlog::error("{}", reason);
      stop_.request();
      return;
    } catch (const Error& e) {
      if (!e.retryable()) {
        spdlog::warn("instance lock for slot '{}': {}", pg::settings_of(config_.source).slot, e.what());
      } else if (!broken) {
        spdlog::warn("instance lock for slot '{}': {}; taking it again", pg::settings_of(config_.source).slot, e.what());
      }
      broken = true;
      connection_.close();
    }
  }
}

}  // namespace sluice
