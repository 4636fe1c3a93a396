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

}  // namespace sluice
