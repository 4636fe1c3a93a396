// The [[sinks]] keys of kind = "manticore" (docs/configuration.md, "Search
// sinks"), parsed by the search plugin (sink/manticore/manticore_plugin.h) into a
// ManticoreSinkConfig: the settings a ManticoreSink is built from.
//
//   url    mysql://[user[:password]@]host[:port] of searchd's SphinxQL listener
//          (secret: its password never shows in messages); required.
//   index  the index name template, {schema} and {table} replaced; default "{table}".
//   [[sinks.tables]] fields = [...]  the full-text fields of that table's index
//          (required for every routed table: searchd refuses an RT index without
//          an rt_field); every other routed column is an attribute.
//
// Immutable once parsed; thread-safe to read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config_table.h"
#include "config/sink_plugin.h"

namespace sluice {

struct SinkConfig;

// One [[sinks.tables]] entry as the search sink uses it.
struct ManticoreTableConfig {
  std::string table;                                        // "schema.table", normalised
  std::vector<std::string> fields;                          // full-text fields (non-empty)
  std::optional<std::vector<std::string>> columns;          // only these columns
  std::optional<std::vector<std::string>> exclude_columns;  // every column but these
};

struct ManticoreSinkConfig final : SinkSettings {
  std::string name;
  std::string url;            // secrets expanded; parsed by SphinxqlUrl
  std::string index = "{table}";
  std::vector<ManticoreTableConfig> tables;

  // The entry for a table, or nullptr.
  const ManticoreTableConfig* table_config(const std::string& qualified_table) const;
  // The index name of a table: the template with {schema} and {table} replaced
  // (lower case, as searchd keeps names).
  std::string index_for(const std::string& qualified_table) const;

  std::string state_place() const override;
  std::string_view state_place_key() const override { return "index"; }
  std::string describe() const override;
};

// The index name `index_template` gives for `qualified_table` ("schema.table").
std::string expand_index_template(std::string_view index_template, std::string_view qualified_table);

std::shared_ptr<const ManticoreSinkConfig> parse_manticore_sink_config(ConfigTable& sink,
                                                                      std::vector<ConfigTable*>& tables,
                                                                      const SinkConfig& common);

}  // namespace sluice
