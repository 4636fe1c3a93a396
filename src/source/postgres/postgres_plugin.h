// kind = "postgres": the PostgreSQL source's plugin (config/source_plugin.h):
// its keys (pg_source_config.h), its position format (pg_position.h) and its
// constructor (postgres_source.h).
#pragma once

#include "config/source_plugin.h"

namespace sluice::pg {

SourcePlugin postgres_source_plugin();

}  // namespace sluice::pg
