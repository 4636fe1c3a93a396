// `sluice verify`: compares every captured table with each sink that holds
// documents (Redis, mode = "upsert"), reading the source in primary-key chunks
// and the sink with pipelined reads, so memory stays flat whatever the table's
// size. Reports per table the rows checked and the keys missing, different and
// extra (index entries that match no row, and keys under the table's key space
// that no row has: app/verify_key_space.h), with a few examples. A key that
// differs is re-checked against the source's current row for a few seconds
// before it counts, so changes committed while verify runs (and not yet
// streamed) are not reported as drift. Exit 0: no drift (or all of it repaired
// with --repair); 1: drift or an error.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace sluice {

struct VerifyOptions {
  std::vector<std::string> tables;  // "schema.table"; empty: every source table
  // Rewrite what still differs from the source's current row, through the same
  // per-row version guard as streaming (never over a newer change).
  bool repair = false;
};

int verify_command(const Config& config, const VerifyOptions& options);

}  // namespace sluice
