// Sink plugins: each kind of sink registers its [[sinks]] keys, their parser and
// its constructor; the loader, the pipeline and the commands never name a kind
// (docs/extending.md). The registry is filled in one place (app/plugins.cc), one
// line a plugin.
//
// Parsing: the loader reads the keys every sink has (name, kind, on_reset, the
// batch and queue bounds, and in each [[sinks.tables]] entry table, columns and
// exclude_columns) into SinkConfig, rejects keys that neither it nor the plugin
// declares, and then calls the plugin's parse() with the sink's table and its
// [[sinks.tables]] entries, in file order. What parse() returns is kept in
// SinkConfig::settings, and only the plugin reads it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_table.h"
#include "config/source_plugin.h"
#include "core/change.h"
#include "core/sink.h"

namespace sluice {

struct SinkConfig;

// What a plugin parsed. Immutable once parsed; shared by every copy of the
// SinkConfig.
class SinkSettings {
 public:
  virtual ~SinkSettings() = default;
  // Where the sink keeps its state (e.g. "redis://127.0.0.1:6379/0 sluice:cache",
  // no secrets), or "" for none: two sinks with the same place would overwrite
  // each other's checkpoint, so the loader refuses that.
  virtual std::string state_place() const { return {}; }
  // The key to point at when two sinks share a state place ("state_prefix").
  virtual std::string_view state_place_key() const { return "name"; }
  // What the sink writes, for `sluice check` ("upsert, json documents, keys like '{table}:{pk}'").
  virtual std::string describe() const = 0;
};

struct SinkPlugin {
  std::string kind;                       // kind = "..."
  std::vector<std::string> keys;          // [[sinks]] keys the plugin reads
  std::vector<std::string> table_keys;    // [[sinks.tables]] keys the plugin reads
  // Parses the plugin's keys; `tables` are the [[sinks.tables]] entries, in the
  // order of common.tables. Throws Error::config through ConfigTable::fail.
  std::function<std::shared_ptr<const SinkSettings>(ConfigTable& sink, std::vector<ConfigTable*>& tables,
                                                    const SinkConfig& common)>
      parse;
  // Builds the sink (does not connect: sinks connect lazily).
  std::function<std::unique_ptr<Sink>(const SinkConfig&)> make;
  // Problems of routing `relation` into this sink (key templates, column
  // choices), one line each, for `sluice check` and the start of `sluice run`.
  std::function<std::vector<std::string>(const SinkConfig&, const Relation&)> table_problems;
  // Optional: problems of the store itself for the routed tables, found by
  // connecting to it (a search index missing or lacking an attribute), each a
  // message that says how to fix it (it may span lines: a block to paste). Never
  // throws for a problem it can describe. For `sluice check` and the start of
  // `sluice run`.
  std::function<std::vector<std::string>(const SinkConfig&, const std::vector<RelationPtr>&)> store_problems;
};

// Every source and sink kind this build knows (app/plugins.cc).
class PluginRegistry {
 public:
  // The first source kind is the default when [source] gives no kind.
  void add_source(SourcePlugin plugin);
  // nullptr when no plugin has that kind.
  const SourcePlugin* find_source(std::string_view kind) const;
  std::vector<std::string> source_kinds() const;  // in registration order

  void add_sink(SinkPlugin plugin);
  // nullptr when no plugin has that kind.
  const SinkPlugin* find_sink(std::string_view kind) const;
  std::vector<std::string> sink_kinds() const;  // in registration order

 private:
  std::vector<std::unique_ptr<SourcePlugin>> sources_;  // stable addresses: SourceConfig points at them
  std::vector<std::unique_ptr<SinkPlugin>> sinks_;  // stable addresses: SinkConfig points at them
};

// The sink `config` describes, built by its plugin.
std::unique_ptr<Sink> make_sink(const SinkConfig& config);
// The source `config` describes, built by its plugin.
std::unique_ptr<Source> make_source(const Config& config, Telemetry& telemetry);

}  // namespace sluice
