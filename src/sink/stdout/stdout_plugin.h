// kind = "stdout": the debugging sink's plugin (config/sink_plugin.h). It has no
// keys of its own: only the ones every sink has.
#pragma once

#include "config/sink_plugin.h"

namespace sluice {

SinkPlugin stdout_sink_plugin();

}  // namespace sluice
