// kind = "redis": the Redis sink's plugin (config/sink_plugin.h): its keys
// (sink/redis/redis_config.h), its constructor, and its per-table checks.
#pragma once

#include "config/sink_plugin.h"

namespace sluice {

SinkPlugin redis_sink_plugin();

}  // namespace sluice
