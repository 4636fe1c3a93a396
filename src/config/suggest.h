// "Did you mean" for misspelt configuration keys and connection parameters.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Levenshtein distance (insertions, deletions, substitutions; bytes).
size_t edit_distance(std::string_view a, std::string_view b);

// " (did you mean \"slot\"?)" for the closest candidate within edit distance 2
// (the first one on a tie), or "" when none is that close.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace sluice
