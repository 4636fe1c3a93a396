#include "source/postgres/postgres_plugin.h"

#include "source/postgres/pg_position.h"
#include "source/postgres/pg_source_config.h"
#include "source/postgres/postgres_source.h"

namespace sluice::pg {

SourcePlugin postgres_source_plugin() {
  SourcePlugin plugin;
  plugin.kind = "postgres";
  plugin.keys = {"dsn", "slot", "publication", "status_interval_ms", "heartbeat_interval_ms", "schema_check_interval_ms"};
  plugin.parse = [](ConfigTable& source, const SourceConfig&) { return parse_postgres_source(source); };
  plugin.use_position_format = [] { use_position_format(); };
  plugin.make = [](const Config& config, Telemetry& telemetry) -> std::unique_ptr<Source> {
    return std::make_unique<PostgresSource>(config, telemetry);
  };
  return plugin;
}

}  // namespace sluice::pg
