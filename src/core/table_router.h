// Per-sink table routing, the router's first step (the second is column
// selection, core/column_selection.h; key templates are format/key_template.h):
// a sink is handed the changes and snapshot rows of the tables it holds
// (Sink::holds_table) and nothing else, so that a search sink indexing one table
// neither receives nor counts the changes of the others. The end of every
// transaction still reaches every sink: its durable position moves on whatever
// tables a transaction touched (invariant 3).
//
// Used from one thread (the source's); remembers its answer per relation shape.
#pragma once

#include <unordered_map>
#include <utility>

#include "core/change.h"
#include "core/sink.h"

namespace sluice {

class TableRouter {
 public:
  // `sink` must outlive the router.
  explicit TableRouter(const Sink& sink) : sink_(sink) {}

  // Whether `relation`'s changes go to the sink.
  bool routes(const RelationPtr& relation);

 private:
  // Shapes replaced by ALTER TABLE are forgotten once the cache holds this many.
  static constexpr size_t kMaxCachedRelations = 256;
  const Sink& sink_;
  // Keyed by the relation's address; the entry holds the relation so that the
  // address is not reused while it is cached.
  std::unordered_map<const Relation*, std::pair<RelationPtr, bool>> routed_;
};

}  // namespace sluice
