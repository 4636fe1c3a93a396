#include "sink/redis/redis_plugin.h"

#include <algorithm>

#include <fmt/format.h>

#include "config/config.h"
#include "core/column_selection.h"
#include "core/error.h"
#include "format/key_template.h"
#include "sink/redis/redis_config.h"
#include "sink/redis/redis_sink.h"

namespace sluice {

namespace {

std::vector<std::string> primary_key_names(const Relation& relation) {
  std::vector<std::string> names;
  for (int i : relation.primary_key) names.push_back(relation.columns[static_cast<size_t>(i)].name);
  if (names.empty()) {
    for (const Column& column : relation.columns) {
      if (column.in_primary_key) names.push_back(column.name);
    }
  }
  return names;
}

// Why upsert keys by `key` could let two rows share a document, or nullopt.
std::optional<std::string> upsert_key_problem(const KeyTemplate& key, const Relation& relation) {
  const std::vector<std::string> used = key.columns(relation);
  auto covers = [&](const std::vector<std::string>& columns) {
    return !columns.empty() && std::all_of(columns.begin(), columns.end(), [&](const std::string& column) {
      return std::find(used.begin(), used.end(), column) != used.end();
    });
  };
  const std::vector<std::string> primary_key = primary_key_names(relation);
  bool unique = covers(primary_key);
  for (const auto& unique_key : relation.unique_keys) unique = unique || covers(unique_key);
  if (primary_key.empty() && relation.unique_keys.empty() && relation.old_row_complete()) {
    // No key at all: complete old rows are told apart by all their columns ({pk}).
    std::vector<std::string> all;
    for (const auto& column : relation.columns) all.push_back(column.name);
    unique = covers(all);
  }
  if (!unique) {
    return fmt::format(
        "key template '{}' uses the columns ({}), which do not include the primary key ({}) or a unique key, so "
        "two rows could get one key and one document would silently replace the other (mode = \"upsert\"); use "
        "{{pk}}, add the missing key columns, or use mode = \"invalidate\" for keys that stand for many rows",
        key.text(), fmt::join(used, ", "), fmt::join(primary_key, ", "));
  }
  return std::nullopt;
}

std::vector<std::string> table_problems(const SinkConfig& common, const Relation& relation) {
  const auto& config = common.settings_as<RedisSinkConfig>();
  const std::string table_name = relation.qualified_name();
  const std::string& text = config.key_for(table_name);
  std::vector<std::string> problems;
  try {
    auto key = KeyTemplate::parse(text);
    key.check(relation);
    if (config.mode == SinkMode::kUpsert) {
      if (auto problem = key.ambiguity()) {
        problems.push_back(fmt::format("table {}: {}", table_name, *problem));
      } else if (auto problem = upsert_key_problem(key, relation)) {
        problems.push_back(fmt::format("table {}: {}", table_name, *problem));
      }
    }
    if (config.mode != SinkMode::kUpsert && !relation.old_row_complete()) {
      // Without the upsert index, a delete only knows the replica identity.
      const std::vector<std::string> primary_key = primary_key_names(relation);
      for (const auto& column : key.columns(relation)) {
        if (std::find(primary_key.begin(), primary_key.end(), column) == primary_key.end()) {
          problems.push_back(fmt::format(
              "key template '{}' for {} uses column '{}', which a delete does not carry "
              "(not in the primary key); use primary-key columns, or ALTER TABLE {} REPLICA IDENTITY FULL;",
              text, table_name, column, table_name));
        }
      }
    }
  } catch (const Error& e) {
    problems.push_back(e.what());
  }
  if (const RedisTableConfig* t = config.table_override(table_name)) {
    try {
      selected_columns(relation, t->columns, t->exclude_columns);
    } catch (const Error& e) {
      problems.push_back(fmt::format("table {}: {}", table_name, e.what()));
    }
  }
  return problems;
}

}  // namespace

SinkPlugin redis_sink_plugin() {
  SinkPlugin plugin;
  plugin.kind = "redis";
  plugin.keys = {"url",          "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name",
                 "mode",         "format",      "key",           "stream",       "stream_maxlen",
                 "state_prefix", "on_error",    "script_max_ops"};
  plugin.table_keys = {"key", "stream"};
  plugin.parse = [](ConfigTable& sink, std::vector<ConfigTable*>& tables, const SinkConfig& common) {
    return std::shared_ptr<const SinkSettings>(parse_redis_sink_config(sink, tables, common));
  };
  plugin.make = [](const SinkConfig& common) -> std::unique_ptr<Sink> {
    return std::make_unique<RedisSink>(common.settings_as<RedisSinkConfig>());
  };
  plugin.table_problems = table_problems;
  return plugin;
}

}  // namespace sluice
