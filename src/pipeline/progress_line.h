// The snapshot's progress as one line of text, for the log and for the live
// line on a terminal (pipeline/snapshot_copy.h). Pure.
#pragma once

#include <cstdint>
#include <string>

namespace sluice {

// "1,234,567"
std::string grouped(uint64_t n);

// "450,000 of ~1,000,000 rows (45%), 181,818 rows/s, about 3s left": `done`
// rows after `seconds`, of an estimated total (never shown below `done`).
std::string progress_line(uint64_t done, uint64_t estimated, double seconds);

}  // namespace sluice
