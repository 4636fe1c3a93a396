// The parsed, validated configuration of one sluice process (docs/configuration.md
// documents every key). load_config() expands ${env:NAME} and ${file:PATH} in
// string values, rejects unknown keys, and throws Error::config with
// "FILE:LINE:COLUMN: KEY: what is wrong" on any problem. Secrets expanded into
// strings (dsn, url) must be printed only through config/redact.h.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/sink_plugin.h"
#include "core/retry.h"
#include "core/sink_bounds.h"

namespace sluice {

enum class SnapshotMode { kInitial, kNever };
// What a sink does when its store comes back empty (its checkpoint is gone: the
// data was flushed, or the server restarted without persistence).
enum class OnReset { kRebuild, kStop };

// [source]: the keys every source has, and what its plugin parsed
// (config/source_plugin.h).
struct SourceConfig {
  std::string kind;                       // the first registered kind when not given
  const SourcePlugin* plugin = nullptr;   // the registry's, for kind
  std::vector<std::string> tables;        // "schema.table", normalised (default schema public)
  SnapshotMode snapshot = SnapshotMode::kInitial;
  size_t snapshot_chunk_rows = 10000;     // rows per primary-key chunk
  size_t snapshot_workers = 2;            // parallel chunk readers of the consistent snapshot
  std::shared_ptr<const SourceSettings> settings;  // the plugin's; never null once loaded

  // The retained stream's name (SourceSettings::stream_name).
  const std::string& stream_name() const { return settings->stream_name(); }
};

// The keys every [[sinks.tables]] entry has; a plugin reads its own
// (config/sink_plugin.h).
struct SinkTableConfig {
  std::string table;                      // "schema.table", normalised
  std::optional<std::vector<std::string>> columns;          // only these columns in documents
  std::optional<std::vector<std::string>> exclude_columns;  // every column but these
};

// One [[sinks]] entry: the keys every sink has, and what its plugin parsed.
struct SinkConfig {
  std::string name;
  std::string kind;
  const SinkPlugin* plugin = nullptr;     // the registry's, for kind
  // kRebuild: copy every table again from a fresh consistent snapshot while
  // streaming goes on (pipeline/sink_rebuild.h), for sinks that can
  // (Sink::rebuild_target). kStop: stop with an error.
  OnReset on_reset = OnReset::kRebuild;
  SinkBounds bounds;                      // batch_max_changes, batch_max_bytes, queue_max_bytes
  std::vector<SinkTableConfig> tables;
  std::shared_ptr<const SinkSettings> settings;  // the plugin's

  // The override for a table, or nullptr.
  const SinkTableConfig* table_override(const std::string& qualified_table) const;
  // The plugin's settings as its own type (Error::internal when they are not).
  template <typename T>
  const T& settings_as() const {
    const T* typed = dynamic_cast<const T*>(settings.get());
    if (typed == nullptr) throw_settings_mismatch();
    return *typed;
  }

 private:
  [[noreturn]] void throw_settings_mismatch() const;
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

// Loads and validates FILE, sinks through `plugins` (which must outlive the
// Config). Throws Error::config naming file, line and key.
Config load_config(const std::string& path, const PluginRegistry& plugins);
// Same, from text already in memory; `path` is used in messages only.
Config parse_config(std::string_view text, const std::string& path, const PluginRegistry& plugins);

// "user_account" -> "public.user_account"; "s.t" unchanged; quoted identifiers are
// not supported (rejected with Error::config by the loader).
std::string normalize_table_name(std::string_view name);

}  // namespace sluice
