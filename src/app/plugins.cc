#include "app/plugins.h"

#include "sink/redis/redis_plugin.h"
#include "sink/stdout/stdout_plugin.h"

namespace sluice {

const PluginRegistry& builtin_plugins() {
  static const PluginRegistry registry = [] {
    PluginRegistry r;
    // The first sink kind is the default when a [[sinks]] entry gives no kind.
    r.add_sink(redis_sink_plugin());
    r.add_sink(stdout_sink_plugin());
    return r;
  }();
  return registry;
}

}  // namespace sluice
