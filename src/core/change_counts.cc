#include "core/change_counts.h"

namespace sluice {

void ChangeCounts::count(const Change& change, double n) {
  auto [it, added] = cache_.try_emplace(change.relation.get());
  Series& series = it->second;
  if (added) series.relation = change.relation;
  const auto op = static_cast<size_t>(change.op);
  if (series.by_op[op] == nullptr) {
    std::vector<std::string> labels = fixed_;
    labels.push_back(change.relation ? change.relation->qualified_name() : "?");
    labels.push_back(to_string(change.op));
    series.by_op[op] = &family_.series(labels);
  }
  add(*series.by_op[op], n);
}

}  // namespace sluice
