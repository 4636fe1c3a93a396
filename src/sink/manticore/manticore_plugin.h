// kind = "manticore": the search sink's plugin (config/sink_plugin.h): its keys
// (manticore_config.h), its constructor, its per-table checks, and the check of
// each live index against the routed columns (`sluice check` prints the index
// block to paste into sphinx.conf, or Manticore's CREATE TABLE).
#pragma once

#include "config/sink_plugin.h"

namespace sluice {

SinkPlugin manticore_sink_plugin();

}  // namespace sluice
