#include "core/table_router.h"

#include "core/error.h"

namespace sluice {

bool TableRouter::routes(const RelationPtr& relation) {
  if (!relation) throw Error::internal("sink '" + sink_.name() + "': a change without its relation");
  auto found = routed_.find(relation.get());
  if (found != routed_.end()) return found->second.second;
  if (routed_.size() >= kMaxCachedRelations) {
    std::erase_if(routed_, [](const auto& entry) { return entry.second.first.use_count() == 1; });
  }
  const bool routed = sink_.holds_table(relation->qualified_name());
  routed_.emplace(relation.get(), std::make_pair(relation, routed));
  return routed;
}

}  // namespace sluice
