// A batch: consecutive changes, in commit order, that a sink applies atomically
// together with its checkpoint. A batch holds whole transactions unless one
// transaction is larger than the batch bounds; then it is split, and each part
// still carries the position of its own last change as checkpoint.
#pragma once

#include <optional>
#include <vector>

#include "core/change.h"

namespace sluice {

enum class BatchKind : uint8_t {
  // Streamed changes: `checkpoint` is the position of the last one, stored by the
  // sink with the batch.
  kStream,
  // Rows of the initial snapshot (core/sink.h, SnapshotTarget), no checkpoint:
  // it moves when the snapshot finishes.
  kSnapshot,
  // Rows copied by a sink rebuild at `copy_point` (no checkpoint): written
  // through the per-row version guard and the rebuild's tombstones, only while
  // that rebuild is the one in progress.
  kRebuild,
  // Rows rewritten by `sluice verify --repair` (no checkpoint): applied through
  // the per-row version guard like any change, leaving the checkpoint alone.
  kRepair,
};
const char* to_string(BatchKind kind);

struct Batch {
  BatchKind kind = BatchKind::kStream;
  std::vector<ChangePtr> changes;
  std::optional<Position> checkpoint;  // kStream only
  std::optional<Position> copy_point;  // kRebuild only: the rows' position

  static Batch stream(std::vector<ChangePtr> changes) {
    Batch b{BatchKind::kStream, std::move(changes), {}, {}};
    if (!b.changes.empty()) b.checkpoint = b.changes.back()->position;
    return b;
  }
  static Batch of(BatchKind kind, std::vector<ChangePtr> changes = {}) {
    return Batch{kind, std::move(changes), {}, {}};
  }
};

}  // namespace sluice
