#include "pipeline/progress_line.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice {

std::string grouped(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string progress_line(uint64_t done, uint64_t estimated, double seconds) {
  const uint64_t total = std::max(estimated, done);
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = fmt::format("{} of ~{} rows ({:.0f}%), {} rows/s", grouped(done), grouped(total),
                                 total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0,
                                 grouped(static_cast<uint64_t>(rate)));
  if (rate > 0 && total > done) {
    const auto left = static_cast<uint64_t>(static_cast<double>(total - done) / rate);
    line += left >= 60 ? fmt::format(", about {}m{:02}s left", left / 60, left % 60)
                       : fmt::format(", about {}s left", left);
  }
  return line;
}

}  // namespace sluice
