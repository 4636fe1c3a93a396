// How much one sink's runner holds (core/sink_runner.h): a batch is cut at
// either batch bound (whole transactions, unless one alone exceeds them), and the
// sink's queue blocks the source at its byte bound (invariant 6).
#pragma once

#include <cstddef>

namespace sluice {

struct SinkBounds {
  size_t batch_max_changes = 5000;
  size_t batch_max_bytes = 8 << 20;
  size_t queue_max_bytes = 64 << 20;
};

}  // namespace sluice
