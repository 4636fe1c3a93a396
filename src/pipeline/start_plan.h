// Deciding how a run starts from what exists: the replication slot (if any) and
// the checkpoint each sink has stored. Pure logic, so every case is unit-tested.
//
//   slot missing, no sink has applied anything   -> create slot (+ snapshot if asked)
//   slot missing, a sink has applied changes      -> Error::state: the slot was lost
//   slot invalidated (wal_status = lost)          -> Error::state: the slot was lost
//   slot present, a snapshot was interrupted      -> drop slot, create, snapshot again
//   slot present, no sink has anything yet        -> drop slot, create (+ snapshot)
//   slot present, some sink has no checkpoint     -> rebuild that sink while the
//                                                    others resume (on_reset =
//                                                    "rebuild"); else Error::state
//   slot present, a sink's rebuild was interrupted -> resume, rebuild it again
//   slot present, every sink has a checkpoint     -> resume
//   --resnapshot                                  -> drop slot, create, snapshot
//
// Sinks that keep no state (stdout) are left out: they follow the slot. With
// only such sinks, an existing slot is resumed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/sink.h"
#include "core/source.h"

namespace sluice {

struct NamedCheckpoint {
  std::string sink;
  SinkCheckpoint checkpoint;
  bool may_rebuild = false;  // on_reset = "rebuild"
  bool stateless = false;    // Sink::keeps_state() is false
};

struct StartPlan {
  bool drop_slot = false;     // drop the existing slot first
  bool create_slot = false;   // create the slot (exporting a snapshot)
  bool snapshot = false;      // copy the tables under the exported snapshot
  std::vector<std::string> rebuild;  // sinks to rebuild while streaming (when resuming)
  std::string reason;         // one line for the log: why this plan
};

StartPlan plan_start(const std::string& slot_name, const std::optional<RetainedStream>& slot,
                     const std::vector<NamedCheckpoint>& sinks, SnapshotMode mode, bool resnapshot);

}  // namespace sluice
