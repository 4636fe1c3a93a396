// The contract every source implements (docs/extending.md): a database's change
// log as the pipeline uses it. The PostgreSQL source (source/postgres/
// postgres_source.h) is the one built; a MariaDB binlog or a JetStream consumer
// implements the same.
//
// The life of a run, driven by app/run_command.cc:
//   become_active()     optional instance lock: one active sluice per stream
//   prepare()           what must exist before the stream (PostgreSQL: the publication)
//   retained()          the retained stream the sinks' checkpoints belong to, if any
//                       (PostgreSQL: the replication slot), for start planning
//   drop_retained() /   a fresh start: the stream is (re)created at a consistent
//   create_retained()   point, and the initial snapshot is copied from it
//                       (core/consistent_snapshot.h)
//   open_copy_point()   a consistent snapshot while streaming (a sink rebuild)
//   resume_point()      where the retained stream resumes (acknowledged so far)
//   stream()            decode, hand every item to the sinks in commit order
//                       (core/fan_out.h), acknowledge what every sink made
//                       durable, reconnect on transient errors
//
// Positions: the source stamps every change with a Position (core/position.h:
// commit order is Position order, and it alone knows what a position means); it
// marks the end of each transaction with a position it may be acknowledged to,
// and sets the position format (logs, events, gauges) before streaming. Used from the thread that runs the pipeline, one call at a time.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/consistent_snapshot.h"
#include "core/health.h"
#include "core/sink_runner.h"
#include "core/stop_signal.h"

namespace sluice {

// The retained stream as start planning needs it.
struct RetainedStream {
  // Set when the source discarded what it had retained for sluice (PostgreSQL:
  // wal_status = lost): the changes since sluice last ran cannot be streamed.
  std::optional<std::string> lost;
  // Set when the stream exists but sluice cannot use it (a slot of another
  // output plugin): why, and what to do.
  std::optional<std::string> unusable;
};

// Held for the whole run by the active instance.
class ActiveInstance {
 public:
  virtual ~ActiveInstance() = default;
  // Why this instance is no longer the active one, once it is not (another took
  // over): the run then stops. Thread-safe.
  virtual std::optional<std::string> lost() const = 0;
};

// Copies every captured table into the sinks from `snapshot` (its rows at its
// position, older than every change streamed after it), which the source keeps
// readable until this returns.
using SnapshotCopier = std::function<void(ConsistentSnapshot& snapshot)>;

class Source {
 public:
  virtual ~Source() = default;

  // The retained stream's name (PostgreSQL: the slot); a sink's checkpoint names it.
  virtual const std::string& stream_name() const = 0;

  // Blocks until this process is the active instance for the stream (throws
  // StopRequested when asked to finish or stop while waiting); nullptr when the
  // source needs no lock.
  virtual std::unique_ptr<ActiveInstance> become_active(std::atomic<bool>& finish, StopSignal& stop,
                                                        Health* health) = 0;
  virtual void prepare() = 0;
  virtual std::optional<RetainedStream> retained() = 0;  // nullopt: there is none
  virtual void drop_retained() = 0;
  // Creates the retained stream at a consistent point and returns the point's
  // position; with a `copy`, calls it while the point's snapshot is held.
  virtual Position create_retained(const SnapshotCopier* copy) = 0;
  // Where the retained stream resumes (what the source has acknowledged).
  virtual Position resume_point() = 0;
  // A consistent snapshot at a new point, readable while the result lives, for a
  // copy made while streaming goes on (a sink rebuild): every change after its
  // position reaches the sinks through the stream. Thread-safe (a sink runner
  // calls it).
  virtual std::unique_ptr<ConsistentSnapshot> open_copy_point() = 0;
  // Each captured table's shape now (a fingerprint: columns, key, partitions).
  virtual std::map<std::string, std::string> table_shapes() = 0;

  // Streams into the runners until `finish` (graceful: the sinks drain and the
  // last durable position is acknowledged) or `stop`. `known_shapes`: each
  // table's shape as the sinks hold it; a table whose shape differs is re-synced
  // while streaming. Throws the first fatal error.
  virtual void stream(std::vector<SinkRunner*> runners, std::atomic<bool>& finish, StopSignal& stop,
                      std::map<std::string, std::string> known_shapes) = 0;
};

}  // namespace sluice
