// `sluice check`: validate the configuration, reach every server, run every
// preflight check, print what `run` would do. Exit 0 when a run could start, 1
// when there is a problem (each printed with how to fix it).
#pragma once

#include "config/config.h"

namespace sluice {

int check_command(const Config& config);

}  // namespace sluice
