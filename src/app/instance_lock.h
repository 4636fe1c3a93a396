// One active sluice per slot. The active instance holds a PostgreSQL advisory
// lock (keyed by the slot name) on a connection of its own for its whole run;
// a second instance on the same config waits as a standby, retrying every
// second, and takes over as soon as the lock is free — i.e. within seconds of
// the active instance dying, when PostgreSQL closes its connection. (If the slot
// is still held by the dead instance's walsender for a moment, starting the
// stream is retried like any transient error.) Concurrent writers are fenced in
// each sink as well: a batch only applies on top of the checkpoint its own
// writer left.
#pragma once

#include <atomic>
#include <string>

#include "config/config.h"
#include "core/stop_signal.h"
#include "source/postgres/pg_connection.h"

namespace sluice {

class InstanceLock {
 public:
  // Blocks until this process is the active instance for config.source.slot, or
  // throws StopRequested when asked to finish or stop while waiting.
  InstanceLock(const Config& config, std::atomic<bool>& finish, StopSignal& stop);

 private:
  pg::PgConnection connection_;  // the lock lives as long as this session
};

}  // namespace sluice
