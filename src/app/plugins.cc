#include "app/plugins.h"

#include "sink/manticore/manticore_plugin.h"
#include "sink/redis/redis_plugin.h"
#include "sink/stdout/stdout_plugin.h"
#include "source/postgres/postgres_plugin.h"

namespace sluice {

const PluginRegistry& builtin_plugins() {
  static const PluginRegistry registry = [] {
    PluginRegistry r;
    // The first source kind is the default when [source] gives no kind.
    r.add_source(pg::postgres_source_plugin());
    // The first sink kind is the default when a [[sinks]] entry gives no kind.
    r.add_sink(redis_sink_plugin());
    r.add_sink(stdout_sink_plugin());
    r.add_sink(manticore_sink_plugin());
    return r;
  }();
  return registry;
}

void use_source_position_format(const Config& config) { config.source.plugin->use_position_format(); }

}  // namespace sluice
