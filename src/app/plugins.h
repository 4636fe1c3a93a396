// The plugins this build of sluice has: one registration line each in
// plugins.cc (docs/extending.md).
#pragma once

#include "config/sink_plugin.h"

namespace sluice {

// Filled on first use; lives for the whole program.
const PluginRegistry& builtin_plugins();

}  // namespace sluice
