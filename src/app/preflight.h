// The checks `sluice check` prints and `sluice run` enforces before it touches
// the slot: PostgreSQL reachable with the given credentials, wal_level = logical,
// replication privilege and a replication connection pg_hba.conf lets through,
// every table present with a primary key (or REPLICA IDENTITY FULL) and
// readable, key templates valid for every table, publication usable (or
// creatable by this role), heartbeats allowed, slot state, every sink
// reachable. A role with only LOGIN REPLICATION, SELECT on the tables and a
// publication the DBA prepared passes (docs/operations.md). Each problem names what and where and
// says how to fix it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "pipeline/start_plan.h"

namespace sluice {

struct PreflightReport {
  std::vector<std::string> facts;     // what was found ("wal_level = logical", ...)
  std::vector<std::string> problems;  // what stops a run
  std::vector<std::string> warnings;  // what a run works around (e.g. no heartbeats)
  std::optional<RetainedStream> slot;      // the slot, if it exists
  bool publication_exists = false;
  std::vector<NamedCheckpoint> checkpoints;  // of the sinks that could be reached
};

// Runs every check; never throws for a problem it can describe (connection
// failures included), so `check` can list them all.
PreflightReport run_preflight(const Config& config);

}  // namespace sluice
