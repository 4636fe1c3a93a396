#include "app/verify_sink_wait.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "source/postgres/pg_position.h"
#include "source/postgres/pg_source_config.h"

namespace sluice {

namespace {
constexpr auto kSinkWait = std::chrono::seconds(3);
}  // namespace

pg::Lsn SinkWait::wal_insert_lsn() {
  return pg::Lsn::parse(std::string(conn_.exec("SELECT pg_current_wal_insert_lsn()::text").value(0, 0)));
}

void SinkWait::until_applied(pg::Lsn lsn) {
  if (behind_) return;
  auto deadline = std::chrono::steady_clock::now() + kSinkWait;
  for (;;) {
    auto applied = target_.read_applied_position();
    if (applied) {
      if (const std::optional<pg::Lsn> at = pg::commit_lsn_in(*applied); at && *at >= lsn) return;
    }
    auto slot = conn_.exec_params(
        "SELECT coalesce(bool_or(confirmed_flush_lsn >= $2::pg_lsn), false), coalesce(bool_or(active), false) "
        "FROM pg_replication_slots WHERE slot_name = $1",
        {pg::settings_of(config_.source).slot, lsn.str()});
    if (slot.value(0, 0) == "t") return;
    if (slot.value(0, 1) != "t") {
      behind_ = true;
      fmt::print(stderr, "verify: slot '{}' is not being streamed (sluice is not running): comparing with what "
                         "sink '{}' holds\n", pg::settings_of(config_.source).slot, sink_name_);
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  behind_ = true;
  fmt::print(stderr,
             "verify: sink '{}' has not applied the changes up to {} within {} s (it is behind); comparing with "
             "what it holds\n",
             sink_name_, lsn.str(), std::chrono::duration_cast<std::chrono::seconds>(kSinkWait).count());
}

}  // namespace sluice
