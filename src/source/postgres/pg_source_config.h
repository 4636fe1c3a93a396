// kind = "postgres": the [source] keys of the PostgreSQL source
// (docs/configuration.md, "[source]"), parsed by its plugin
// (postgres_plugin.h) into PostgresSourceSettings.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/config.h"
#include "config/source_plugin.h"

namespace sluice::pg {

struct PostgresSourceSettings final : SourceSettings {
  std::string dsn;          // libpq connection string (secrets expanded)
  std::string slot;
  std::string publication;
  std::chrono::milliseconds status_interval{10000};  // standby status update period
  // A logical message (pg_logical_emit_message) written this often, so that lag
  // is measured and the slot advances on a quiet database; zero: none.
  std::chrono::milliseconds heartbeat_interval{10000};
  // How often the captured tables' shapes (columns, key, partitions) are read
  // from the catalog; a change re-syncs that table's rows while streaming goes
  // on (table_resync.h). Zero: only at start.
  std::chrono::milliseconds schema_check_interval{1000};

  const std::string& stream_name() const override { return slot; }
  std::string_view stream_name_key() const override { return "slot"; }
  std::chrono::milliseconds idle_report_interval() const override { return status_interval; }
};

// Parses the keys above from [source] (Error::config naming file, line and key).
std::shared_ptr<const SourceSettings> parse_postgres_source(ConfigTable& source);

// The PostgreSQL settings of `source`. Throws Error::internal when the source is
// of another kind.
const PostgresSourceSettings& settings_of(const SourceConfig& source);
inline const PostgresSourceSettings& settings_of(const Config& config) { return settings_of(config.source); }

}  // namespace sluice::pg
