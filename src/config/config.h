// The parsed, validated configuration of one sluice process (docs/configuration.md
// documents every key). load_config() expands ${env:NAME} and ${file:PATH} in
// string values, rejects unknown keys, and throws Error::config with
// "FILE:LINE:COLUMN: KEY: what is wrong" on any problem. Secrets expanded into
// strings (dsn, url) must be printed only through config/redact.h.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/retry.h"
#include "core/sink_bounds.h"

namespace sluice {

enum class SnapshotMode { kInitial, kNever };
enum class SinkMode { kUpsert, kInvalidate, kStream };
enum class DocumentFormat { kJson, kHash };
// What a sink does with a change the store rejects (a "poison" change).
enum class OnError { kStop, kDeadLetter };
// What a sink does when its store comes back empty (its checkpoint is gone: the
// data was flushed, or the server restarted without persistence).
enum class OnReset { kRebuild, kStop };

struct SourceConfig {
  std::string kind = "postgres";
  std::string dsn;                        // libpq connection string (secrets expanded)
  std::string slot;
  std::string publication;
  std::vector<std::string> tables;        // "schema.table", normalised (default schema public)
  SnapshotMode snapshot = SnapshotMode::kInitial;
  size_t snapshot_chunk_rows = 10000;     // rows per primary-key chunk
  size_t snapshot_workers = 2;            // parallel chunk readers under the exported snapshot
  std::chrono::milliseconds status_interval{10000};  // standby status update period
  // A logical message (pg_logical_emit_message) written this often, so that lag
  // is measured and the slot advances on a quiet database; zero: none.
  std::chrono::milliseconds heartbeat_interval{10000};
  // How often the captured tables' shapes (columns, key, partitions) are read
  // from the catalog; a change re-syncs that table's rows while streaming goes
  // on (source/postgres/table_resync.h). Zero: only at start.
  std::chrono::milliseconds schema_check_interval{1000};
};

// Per-table override inside one sink ([[sinks.tables]]).
struct SinkTableConfig {
  std::string table;                      // "schema.table", normalised
  std::optional<std::string> key;         // key template for this table
  std::optional<std::vector<std::string>> columns;  // only these columns in documents
  std::optional<std::string> stream;      // stream key template (mode = "stream")
};

struct SinkConfig {
  std::string name;
  std::string kind = "redis";
  std::string url;                        // redis://[user:password@]host:port/db (secrets expanded)
  SinkMode mode = SinkMode::kUpsert;
  DocumentFormat format = DocumentFormat::kJson;
  std::string key = "{table}:{pk}";
  std::string stream = "sluice:changes";  // stream key template (mode = "stream")
  std::optional<size_t> stream_maxlen;    // approximate MAXLEN for XADD
  std::string state_prefix;               // where sluice keeps its own state; default "sluice:{name}"
  // kStop: stop without acknowledging it. kDeadLetter: record it (with the
  // reason) in the stream <state_prefix>:dead_letter, count it, and go on.
  OnError on_error = OnError::kStop;
  // kRebuild: copy every table again from a fresh consistent snapshot while
  // streaming goes on (pipeline/sink_rebuild.h). kStop: stop with an error.
  OnReset on_reset = OnReset::kRebuild;
  std::vector<SinkTableConfig> tables;
  SinkBounds bounds;                      // batch_max_changes, batch_max_bytes, queue_max_bytes
  // A batch of at most this many ops is applied with one script call (one round
  // trip: the lowest latency); a larger one, where it can, with plain commands
  // (two round trips, a fraction of Redis' time). sink/redis/plain_batch.h.
  size_t script_max_ops = 32;

  // The override for a table, or nullptr.
  const SinkTableConfig* table_override(const std::string& qualified_table) const;
};

// [metrics]: the HTTP endpoint for GET /metrics and GET /healthz.
struct MetricsConfig {
  bool enabled = false;                   // listen was given
  std::string host;                       // of listen = "HOST:PORT"
  uint16_t port = 0;                      // 0: any free port (logged)
  // /healthz turns 503 when a sink has failed, or nothing has moved while
  // changes wait, for longer than this (core/health.h).
  std::chrono::milliseconds unhealthy_after{30000};
};

struct Config {
  std::string path;                       // the file it was loaded from
  SourceConfig source;
  std::vector<SinkConfig> sinks;
  RetryConfig retry;
  MetricsConfig metrics;
};

// Loads and validates FILE. Throws Error::config naming file, line and key.
Config load_config(const std::string& path);
// Same, from text already in memory; `path` is used in messages only.
Config parse_config(std::string_view text, const std::string& path);

// "user_account" -> "public.user_account"; "s.t" unchanged; quoted identifiers are
// not supported (rejected with Error::config by the loader).
std::string normalize_table_name(std::string_view name);

}  // namespace sluice
