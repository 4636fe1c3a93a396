#include "app/verify_report.h"

#include <fmt/format.h>

namespace sluice {

std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

void print_report(const std::string& sink, const std::string& table, const TableReport& report) {
  fmt::print("sink '{}' {}: {} rows checked, {} missing, {} different, {} extra", sink, table, report.checked,
             report.count(Drift::kMissing), report.count(Drift::kDifferent), report.count(Drift::kExtra));
  if (report.count(Drift::kChanging)) {
    fmt::print(", {} changing (rewritten by the stream faster than they could be compared; not drift)",
               report.count(Drift::kChanging));
  }
  if (report.repaired) fmt::print(" ({} keys repaired)", report.repaired);
  fmt::print("\n");
  for (const auto& [kind, keys] : report.examples) {
    const char* name = kind == Drift::kMissing     ? "missing"
                       : kind == Drift::kDifferent ? "different"
                       : kind == Drift::kExtra     ? "extra"
                                                   : "changing";
    for (const auto& key : keys) fmt::print("  {}: {}\n", name, key);
  }
  if (report.kept) {
    fmt::print("  {} extra keys not removed: a row could be getting them while the sink was writing; run verify "
               "--repair again\n", report.kept);
    for (const auto& key : report.kept_examples) fmt::print("  not removed: {}\n", key);
  }
  for (const auto& note : report.notes) fmt::print("  {}\n", note);
}

}  // namespace sluice
