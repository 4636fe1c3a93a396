#include "core/sink.h"

namespace sluice {

const char* to_string(SnapshotState state) {
  switch (state) {
    case SnapshotState::kNone: return "none";
    case SnapshotState::kInProgress: return "in progress";
    case SnapshotState::kDone: return "done";
  }
  return "?";
}

const char* to_string(BatchKind kind) {
  switch (kind) {
    case BatchKind::kStream: return "stream";
    case BatchKind::kSnapshot: return "snapshot";
    case BatchKind::kRebuild: return "rebuild";
    case BatchKind::kRepair: return "repair";
  }
  return "?";
}

}  // namespace sluice
