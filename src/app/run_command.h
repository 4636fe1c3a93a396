// `sluice run`: preflight, start plan (slot, snapshot), then stream until a
// signal or a fatal error. Returns the process exit code; a fatal error is
// logged as one line that names what and where.
#pragma once

#include "config/config.h"

namespace sluice {

struct RunOptions {
  bool resnapshot = false;  // drop the slot, rebuild every sink from a fresh snapshot
};

int run_command(const Config& config, const RunOptions& options);

}  // namespace sluice
