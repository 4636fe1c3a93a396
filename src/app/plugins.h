// The plugins this build of sluice has: one registration line each in
// plugins.cc (docs/extending.md).
#pragma once

#include <memory>

#include "config/config.h"
#include "config/sink_plugin.h"
#include "core/source.h"
#include "core/telemetry.h"

namespace sluice {

// Filled on first use; lives for the whole program.
const PluginRegistry& builtin_plugins();

// Makes positions read as the configured source's (core/position.h:
// set_position_format). Called once, after the config is loaded and before any
// command runs.
void use_source_position_format(const Config& config);

// make_source() (config/sink_plugin.h) builds the source config.source
// describes; `config` and `telemetry` must outlive it. Does not connect.

}  // namespace sluice
