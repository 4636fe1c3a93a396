// `sluice status --config FILE [--json]`: where a deployment stands, read from
// PostgreSQL (the slot) and from each sink (its stored checkpoint), without
// touching either. Human-readable by default; --json prints one JSON object for
// scripts (the fields are listed in docs/operations.md). Connection strings and
// passwords never appear: servers are named by host and port.
// Exit status: 0 when every server answered, 1 when one did not (what could be
// read is still printed, the rest says why not).
#pragma once

#include "config/config.h"

namespace sluice {

struct StatusOptions {
  bool json = false;
};

int status_command(const Config& config, const StatusOptions& options);

}  // namespace sluice
