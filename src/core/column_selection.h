// Column selection, the router's part shared by every sink: which columns of a
// table a sink's documents hold ([[sinks.tables]] columns / exclude_columns,
// docs/configuration.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/change.h"

namespace sluice {

// Indexes into relation.columns, ascending: every column; only those in `keep`;
// or every column but those in `leave_out` (the loader refuses both at once).
// Throws Error::config naming the key and the column when a named column is not
// in the table, or when `leave_out` would leave no column at all.
std::vector<int> selected_columns(const Relation& relation, const std::optional<std::vector<std::string>>& keep,
                                  const std::optional<std::vector<std::string>>& leave_out);

}  // namespace sluice
