// What every search sink instance of this process that writes one index shares
// (the streaming sink, and the instances a snapshot or a rebuild copies rows
// through): SphinxQL has no compare-and-set, so the per-document version guard
// is a read followed by a write, and two writers of one index must not
// interleave between them. The gate is that lock, and it keeps the tombstones of
// a rebuild in progress (core/sink.h, RebuildTarget): deletes and truncates
// streamed after the copy point, which copied rows must obey.
//
// Tombstones live in memory only: a rebuild that is interrupted (sluice stopped
// or crashed) is started again with a new copy point (pipeline/start_plan.h), so
// the only deletes that matter are those of this process's lifetime. Memory:
// one entry (document id and version) per row deleted while the copy runs.
//
// One sluice process writes an index at a time (the source's active-instance
// lock); `sluice verify --repair` in another process does not take this gate
// (docs/configuration.md says what that allows).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/position.h"

namespace sluice {

class IndexGate {
 public:
  // The gate of `index` at `endpoint` ("127.0.0.1:9306"); the same object for
  // every caller of this process while one of them holds it.
  static std::shared_ptr<IndexGate> of(const std::string& endpoint, const std::string& index);

  // Held from reading documents' versions to the COMMIT that writes them.
  std::mutex& writes() { return writes_; }

  // A rebuild copies rows at `copy_point` (their position); clears older tombstones.
  void begin_rebuild(const Position& copy_point);
  void end_rebuild();
  std::optional<Position> rebuilding() const;
  // Records a streamed delete or truncate, when it is newer than the copy point.
  void deleted(int64_t id, const Position& version);
  void truncated(const Position& version);
  // Whether a copied row of document `id` must be dropped: a delete or truncate
  // newer than the copy came first.
  bool blocks(int64_t id) const;

 private:
  std::mutex writes_;
  mutable std::mutex state_;
  std::optional<Position> rebuilding_;
  std::unordered_map<int64_t, Position> tombstones_;
  std::optional<Position> truncated_;
};

}  // namespace sluice
