#include "core/column_selection.h"

#include <algorithm>

#include "core/error.h"

namespace sluice {

namespace {
int column_or_throw(const Relation& relation, const std::string& key, const std::string& name) {
  const int index = relation.column_index(name);
  if (index < 0) throw Error::config(key + ": the table has no column '" + name + "'");
  return index;
}
}  // namespace

std::vector<int> selected_columns(const Relation& relation, const std::optional<std::vector<std::string>>& keep,
                                  const std::optional<std::vector<std::string>>& leave_out) {
  std::vector<int> out;
  if (keep) {
    for (const std::string& name : *keep) out.push_back(column_or_throw(relation, "columns", name));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  std::vector<bool> left_out(relation.columns.size(), false);
  if (leave_out) {
    for (const std::string& name : *leave_out) {
      left_out[static_cast<size_t>(column_or_throw(relation, "exclude_columns", name))] = true;
    }
  }
  for (size_t i = 0; i < relation.columns.size(); ++i) {
    if (!left_out[i]) out.push_back(static_cast<int>(i));
  }
  if (out.empty()) throw Error::config("exclude_columns: leaves out every column of the table");
  return out;
}

}  // namespace sluice
