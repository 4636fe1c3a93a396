// What `sluice verify` found for one table of one sink, and how it is printed.
// Counts, and the first few keys of each kind as examples: memory stays flat
// however much has drifted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sluice {

enum class Drift { kMissing, kDifferent, kExtra, kChanging };

// A PostgreSQL text[] literal of `values` (for unnest() lookups).
std::string text_array(const std::vector<std::string>& values);

struct TableReport {
  static constexpr size_t kExamples = 3;

  uint64_t checked = 0;
  uint64_t repaired = 0;
  std::map<Drift, uint64_t> counts;                    // kChanging is not drift
  std::map<Drift, std::vector<std::string>> examples;  // up to kExamples per kind
  // Extra keys --repair left in place (a row may be getting the key); up to
  // kExamples of them, and how many.
  uint64_t kept = 0;
  std::vector<std::string> kept_examples;
  // Lines printed after the counts (e.g. why extra keys could not be looked for).
  std::vector<std::string> notes;

  void add(Drift kind, const std::string& key) {
    ++counts[kind];
    auto& some = examples[kind];
    if (some.size() < kExamples) some.push_back(key);
  }
  void add_kept(const std::string& key) {
    ++kept;
    if (kept_examples.size() < kExamples) kept_examples.push_back(key);
  }
  uint64_t count(Drift kind) const {
    auto it = counts.find(kind);
    return it == counts.end() ? 0 : it->second;
  }
  bool drifted() const { return count(Drift::kMissing) + count(Drift::kDifferent) + count(Drift::kExtra) > 0; }
};

// "sink 'S' T: N rows checked, ... extra[, ...]" and the examples, to stdout.
void print_report(const std::string& sink, const std::string& table, const TableReport& report);

}  // namespace sluice
