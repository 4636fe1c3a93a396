// The [[sinks]] keys of kind = "redis" (docs/configuration.md, "Redis sinks"),
// parsed by the Redis plugin (sink/redis/redis_plugin.h) into a RedisSinkConfig:
// the settings a RedisSink is built from.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config_table.h"
#include "config/sink_plugin.h"
#include "sink/redis/redis_transport.h"

namespace sluice {

struct SinkConfig;

enum class SinkMode { kUpsert, kInvalidate, kStream };
enum class DocumentFormat { kJson, kHash };
// What a sink does with a change the store rejects (a "poison" change).
enum class OnError { kStop, kDeadLetter };

const char* to_string(SinkMode mode);

// One [[sinks.tables]] entry as the Redis sink uses it.
struct RedisTableConfig {
  std::string table;                      // "schema.table", normalised
  std::optional<std::string> key;         // key template for this table
  std::optional<std::vector<std::string>> columns;          // only these columns in documents
  std::optional<std::vector<std::string>> exclude_columns;  // every column but these
  std::optional<std::string> stream;      // stream key template (mode = "stream")
};

struct RedisSinkConfig final : SinkSettings {
  std::string name;
  std::string url;                        // redis[s]://[user:password@]host:port/db (secrets expanded)
  RedisTlsSettings tls;                   // tls_* keys (rediss:// only)
  SinkMode mode = SinkMode::kUpsert;
  DocumentFormat format = DocumentFormat::kJson;
  std::string key = "{table}:{pk}";
  std::string stream = "sluice:changes";  // stream key template (mode = "stream")
  std::optional<size_t> stream_maxlen;    // approximate MAXLEN for XADD
  std::string state_prefix;               // where sluice keeps its own state; default "sluice:{name}"
  // kStop: stop without acknowledging it. kDeadLetter: record it (with the
  // reason) in the stream <state_prefix>:dead_letter, count it, and go on.
  OnError on_error = OnError::kStop;
  // A batch of at most this many ops is applied with one script call (one round
  // trip: the lowest latency); a larger one, where it can, with plain commands
  // (two round trips, a fraction of Redis' time). sink/redis/plain_batch.h.
  size_t script_max_ops = 32;
  std::vector<RedisTableConfig> tables;

  // The override for a table, or nullptr.
  const RedisTableConfig* table_override(const std::string& qualified_table) const;
  // The key template text for a table.
  const std::string& key_for(const std::string& qualified_table) const;

  std::string state_place() const override;
  std::string_view state_place_key() const override { return "state_prefix"; }
  std::string describe() const override;
};

// The Redis keys of one [[sinks]] table and of its [[sinks.tables]] entries.
std::shared_ptr<const RedisSinkConfig> parse_redis_sink_config(ConfigTable& sink, std::vector<ConfigTable*>& tables,
                                                              const SinkConfig& common);

// Why `url` is not "redis[s]://[user:password@]host[:port][/db]", or nullopt.
// The structure is checked by the sink's own parser (sink/redis/redis_url.h), so
// what loads is what the sink accepts.
std::optional<std::string> redis_url_problem(std::string_view url);

}  // namespace sluice
