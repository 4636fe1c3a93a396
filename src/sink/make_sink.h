// Builds the sink a [[sinks]] entry describes. Does not connect (sinks connect
// lazily, so a store that is down at start-up is retried like any outage).
#pragma once

#include <memory>

#include "config/config.h"
#include "core/sink.h"

namespace sluice {

std::unique_ptr<Sink> make_sink(const SinkConfig& config);

}  // namespace sluice
