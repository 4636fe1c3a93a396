// `sluice verify`: waiting until a sink has applied the changes committed before
// a WAL position, so that what it holds can be compared with rows read before
// that position. Shared by the tables of one sink: once it gives up (sluice is
// not running, or the sink is far behind) it says so once and never waits again.
// `config`, `sink` and `conn` must outlive it. Not thread-safe.
#pragma once

#include "config/config.h"
#include "core/sink.h"
#include "source/postgres/lsn.h"
#include "source/postgres/pg_connection.h"

namespace sluice {

class SinkWait {
 public:
  SinkWait(const Config& config, std::string sink_name, VerifyTarget& target, pg::PgConnection& conn)
      : config_(config), sink_name_(std::move(sink_name)), target_(target), conn_(conn) {}

  // The source's WAL insert position now: every change a read made before this
  // call shows committed before it.
  pg::Lsn wal_insert_lsn();
  // Waits (up to 3 s) until the sink has applied every change committed before
  // `lsn`: its checkpoint is at or past it, or the slot is acknowledged past it
  // (an idle stream acknowledges the WAL end without writing). If the slot is
  // not being streamed or the sink does not get there in time, says so once on
  // stderr and returns: what the sink holds is then compared as it is.
  void until_applied(pg::Lsn lsn);

 private:
  const Config& config_;
  std::string sink_name_;
  VerifyTarget& target_;
  pg::PgConnection& conn_;
  bool behind_ = false;  // gave up once: do not wait again
};

}  // namespace sluice
