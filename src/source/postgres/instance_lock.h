// One active sluice per slot. The active instance holds a PostgreSQL advisory
// lock (keyed by the slot name) on a connection of its own for its whole run;
// a second instance on the same config waits as a standby, retrying every
// second, and takes over as soon as the lock is free — i.e. within seconds of
// the active instance dying, when PostgreSQL closes its connection. A standby
// that got the lock announces itself active only once the slot is no longer
// streamed by anyone (the previous instance's walsender has let it go).
//
// While active, a guard thread checks the lock's connection every 500 ms. When
// that connection broke (a network cut, a PostgreSQL restart), it reconnects and
// takes the lock again; if another instance took it meanwhile, this one has lost
// it: lost() says so and the process-wide stop is requested, so that two
// instances never both believe they are active. (Each sink fences concurrent
// writers as well: a batch only applies on top of the checkpoint its own writer
// left.)
//
// Thread safety: lost() may be called from any thread; the rest from the thread
// that constructed the lock.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/health.h"
#include "core/source.h"
#include "core/stop_signal.h"
#include "source/postgres/pg_connection.h"

namespace sluice {

class InstanceLock final : public ActiveInstance {
 public:
  // Blocks until this process is the active instance for the slot (source.slot), or
  // throws StopRequested when asked to finish or stop while waiting. Then starts
  // the guard thread, which requests `stop` if the lock is lost.
  // `health` (if any) hears that this instance waits as a standby, and when it
  // takes over.
  InstanceLock(const Config& config, std::atomic<bool>& finish, StopSignal& stop, Health* health = nullptr);
  // Stops the guard thread; the lock goes with the connection. Never throws.
  ~InstanceLock() override;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  // Why this instance is no longer the active one, once it is not.
  std::optional<std::string> lost() const override;

 private:
  // pg_try_advisory_lock on connection_ (reconnecting first if needed). Throws
  // Error::transient while PostgreSQL is unreachable.
  bool try_lock();
  void wait_for_slot_release();
  void guard();

  const Config& config_;
  StopSignal& stop_;
  const std::string key_;
  pg::PgConnection connection_;  // the lock lives as long as this session
  StopSignal guard_stop_;
  std::thread guard_;
  mutable std::mutex lost_mutex_;
  std::optional<std::string> lost_;
};

}  // namespace sluice
