// A batch: consecutive changes, in commit order, that a sink applies atomically
// together with its checkpoint. A batch holds whole transactions unless one
// transaction is larger than the batch bounds; then it is split, and each part
// still carries the position of its own last change as checkpoint.
#pragma once

#include <optional>
#include <vector>

#include "core/change.h"
#include "core/lsn.h"

namespace sluice {

struct Batch {
  std::vector<ChangePtr> changes;
  // Position of the last change of the batch, stored by the sink with the batch.
  // Empty for snapshot batches (the checkpoint moves when the snapshot finishes).
  std::optional<Position> checkpoint;
  // Rows rewritten by `sluice verify --repair` (no checkpoint): applied through
  // the per-row version guard like any change, leaving the checkpoint alone.
  bool repair = false;
  // Rows copied by a sink rebuild at this point (no checkpoint): written through
  // the per-row version guard and the rebuild's tombstones, only while that
  // rebuild is the one in progress.
  std::optional<Lsn> rebuild;
};

}  // namespace sluice
