// Source plugins: each kind of source registers its [source] keys, their parser,
// its constructor and its position format; the loader and the commands never
// name a kind (docs/extending.md). Registered in app/plugins.cc, one line a
// plugin, in PluginRegistry (config/sink_plugin.h).
//
// Parsing: the loader reads the keys every source has (kind, tables, snapshot,
// snapshot_chunk_rows, snapshot_workers) into SourceConfig, rejects keys that
// neither it nor the plugin declares, and then calls the plugin's parse() with
// the [source] table. What parse() returns is kept in SourceConfig::settings,
// and only the plugin (and its source) reads it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config_table.h"
#include "core/source.h"
#include "core/telemetry.h"

namespace sluice {

struct Config;
struct SourceConfig;

// What a source plugin parsed. Immutable once parsed; shared by every copy of
// the SourceConfig.
class SourceSettings {
 public:
  virtual ~SourceSettings() = default;
  // The retained stream's name a sink's checkpoint records (PostgreSQL: the
  // slot), and the key that sets it ("slot"), for messages.
  virtual const std::string& stream_name() const = 0;
  virtual std::string_view stream_name_key() const = 0;
  // How often, at the most, the source goes without a sign of life while idle
  // (PostgreSQL: its standby status updates); /healthz allows three of them.
  virtual std::chrono::milliseconds idle_report_interval() const = 0;
};

struct SourcePlugin {
  std::string kind;               // kind = "..."
  std::vector<std::string> keys;  // [source] keys the plugin reads
  // Parses the plugin's keys. Throws Error::config through ConfigTable::fail.
  std::function<std::shared_ptr<const SourceSettings>(ConfigTable& source, const SourceConfig& common)> parse;
  // Sets how positions read (core/position.h); called once, before any
  // position is shown.
  std::function<void()> use_position_format;
  // Builds the source (connects lazily).
  std::function<std::unique_ptr<Source>(const Config&, Telemetry&)> make;
};

}  // namespace sluice
