#include "app/plugins.h"

#include "core/error.h"
#include "sink/manticore/manticore_plugin.h"
#include "sink/redis/redis_plugin.h"
#include "sink/stdout/stdout_plugin.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/postgres_source.h"

namespace sluice {

const PluginRegistry& builtin_plugins() {
  static const PluginRegistry registry = [] {
    PluginRegistry r;
    // The first sink kind is the default when a [[sinks]] entry gives no kind.
    r.add_sink(redis_sink_plugin());
    r.add_sink(stdout_sink_plugin());
    r.add_sink(manticore_sink_plugin());
    return r;
  }();
  return registry;
}

void use_source_position_format(const Config& config) {
  if (config.source.kind == "postgres") pg::use_position_format();
}

std::unique_ptr<Source> make_source(const Config& config, Telemetry& telemetry) {
  // The loader accepts only the kinds built here (config.cc, source.kind).
  if (config.source.kind == "postgres") return std::make_unique<pg::PostgresSource>(config, telemetry);
  throw Error::config("source kind '" + config.source.kind + "' is not supported");
}

}  // namespace sluice
