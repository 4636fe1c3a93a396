#include "app/status_command.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/sink.h"
#include "config/sink_plugin.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/slot.h"
#include "source/postgres/table_resync.h"
#include "source/postgres/pg_source_config.h"

namespace sluice {

namespace {

using nlohmann::json;

// "12.3 MiB"
std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

// Bytes of WAL from a checkpoint to `ahead`; nullopt when the checkpoint is not
// a PostgreSQL position.
uint64_t behind(pg::Lsn ahead, pg::Lsn at) { return ahead.value() > at.value() ? ahead.value() - at.value() : 0; }
std::optional<uint64_t> behind(pg::Lsn ahead, const Position& checkpoint) {
  const std::optional<pg::Lsn> at = pg::commit_lsn_in(checkpoint);
  if (!at) return std::nullopt;
  return behind(ahead, *at);
}

struct SourceStatus {
  std::optional<std::string> error;
  std::string server;  // "PostgreSQL 15.8 at 127.0.0.1:5432"
  pg::Lsn current_wal;
  std::optional<pg::SlotInfo> slot;
  std::optional<int64_t> safe_wal_size;  // bytes left before the slot is invalidated (max_slot_wal_keep_size)
  std::map<std::string, std::string> shapes;  // each captured table's current shape (pg::table_shape)
};

SourceStatus read_source(const Config& config) {
  SourceStatus out;
  try {
    auto connection = pg::PgConnection::connect(pg::settings_of(config.source).dsn, pg::PgConnection::Mode::kNormal);
    out.server = fmt::format("PostgreSQL {} at {}", connection.server_version_text(), connection.where());
    out.current_wal = pg::Lsn::parse(connection.exec("SELECT pg_current_wal_lsn()").value(0, 0));
    out.slot = pg::query_slot(connection, pg::settings_of(config.source).slot);
    if (out.slot) {
      auto result = connection.exec_params(
          "SELECT safe_wal_size FROM pg_replication_slots WHERE slot_name = $1", {pg::settings_of(config.source).slot});
      if (result.rows() == 1 && !result.is_null(0, 0)) out.safe_wal_size = std::stoll(std::string(result.value(0, 0)));
    }
    for (const auto& table : config.source.tables) out.shapes[table] = pg::table_shape(connection, table);
  } catch (const Error& e) {
    out.error = e.what();
  }
  return out;
}

struct SinkStatus {
  std::string name;
  std::string kind;
  bool keeps_state = true;                  // Sink::keeps_state()
  std::optional<std::string> error;
  SinkCheckpoint checkpoint;
  bool holds_rows = false;
  std::map<std::string, std::string> shapes;  // as the sink stored them
};

// The tables whose documents in `sink` do not have the table's current shape
// yet: a re-sync is running or will run (docs/configuration.md, Table re-sync).
std::vector<std::string> resync_pending(const SourceStatus& source, const SinkStatus& sink) {
  std::vector<std::string> tables;
  if (source.error || !sink.holds_rows || sink.error) return tables;
  for (const auto& [table, shape] : source.shapes) {
    auto stored = sink.shapes.find(table);
    if (!shape.empty() && (stored == sink.shapes.end() || stored->second != shape)) tables.push_back(table);
  }
  return tables;
}

std::vector<SinkStatus> read_sinks(const Config& config) {
  std::vector<SinkStatus> out;
  for (const SinkConfig& sink_config : config.sinks) {
    SinkStatus status{sink_config.name, sink_config.kind, true, {}, {}, false, {}};
    try {
      auto sink = make_sink(sink_config);
      if (!sink->keeps_state()) {  // nothing stored to read
        status.keeps_state = false;
        out.push_back(std::move(status));
        continue;
      }
      status.checkpoint = sink->load_checkpoint();
      RowStore* rows = sink->row_store();
      status.holds_rows = rows != nullptr;
      if (rows != nullptr) status.shapes = rows->load_table_shapes();
    } catch (const Error& e) {
      status.error = e.what();
    }
    out.push_back(std::move(status));
  }
  return out;
}

json to_json(const Config& config, const SourceStatus& source, const std::vector<SinkStatus>& sinks) {
  json out;
  json& src = out["source"];
  src["slot_name"] = pg::settings_of(config.source).slot;
  if (source.error) {
    src["error"] = *source.error;
  } else {
    src["server"] = source.server;
    src["current_wal_lsn"] = source.current_wal.str();
    if (!source.slot) {
      src["slot"] = nullptr;
    } else {
      const pg::SlotInfo& slot = *source.slot;
      json& s = src["slot"];
      s["plugin"] = slot.plugin;
      s["active"] = slot.active;
      s["active_pid"] = slot.active ? json(slot.active_pid) : json(nullptr);
      s["confirmed_flush_lsn"] = slot.confirmed_flush_lsn.str();
      s["restart_lsn"] = slot.restart_lsn.str();
      s["wal_status"] = slot.wal_status ? json(*slot.wal_status) : json(nullptr);
      s["lag_bytes"] = behind(source.current_wal, slot.confirmed_flush_lsn);
      s["retained_bytes"] = behind(source.current_wal, slot.restart_lsn);
      s["safe_wal_size_bytes"] = source.safe_wal_size ? json(*source.safe_wal_size) : json(nullptr);
    }
  }
  json& list = out["sinks"];
  list = json::array();
  for (const SinkStatus& sink : sinks) {
    json s;
    s["name"] = sink.name;
    s["kind"] = sink.kind;
    if (!sink.keeps_state) {
      s["checkpoint"] = nullptr;  // keeps none: follows the slot
    } else if (sink.error) {
      s["error"] = *sink.error;
    } else {
      const SinkCheckpoint& cp = sink.checkpoint;
      s["checkpoint"] = cp.position ? json(cp.position->str()) : json(nullptr);
      s["slot"] = cp.slot.empty() ? json(nullptr) : json(cp.slot);
      s["snapshot"] = to_string(cp.snapshot);
      s["rebuilding_at"] = cp.rebuilding ? json(cp.rebuilding->str()) : json(nullptr);
      const std::optional<uint64_t> lag =
          cp.position && !source.error ? behind(source.current_wal, *cp.position) : std::nullopt;
      if (lag) {
        s["lag_bytes"] = *lag;
      } else {
        s["lag_bytes"] = nullptr;
      }
      s["resync_pending"] = resync_pending(source, sink);
    }
    list.push_back(std::move(s));
  }
  return out;
}

void print_text(const Config& config, const SourceStatus& source, const std::vector<SinkStatus>& sinks) {
  fmt::print("source: ");
  if (source.error) {
    fmt::print("unreachable: {}\n", *source.error);
  } else {
    fmt::print("{}, WAL at {}\n", source.server, source.current_wal.str());
    if (!source.slot) {
      fmt::print("  slot '{}': does not exist (the next run creates it)\n", pg::settings_of(config.source).slot);
    } else {
      const pg::SlotInfo& slot = *source.slot;
      fmt::print("  slot '{}': {}{}, confirmed flush {}, {} behind the WAL\n", pg::settings_of(config.source).slot,
                 slot.active ? "active" : "inactive",
                 slot.active ? fmt::format(" (walsender pid {})", slot.active_pid) : std::string(),
                 slot.confirmed_flush_lsn.str(), human_bytes(behind(source.current_wal, slot.confirmed_flush_lsn)));
      fmt::print("    holds {} of WAL (restart {}), wal_status {}{}\n",
                 human_bytes(behind(source.current_wal, slot.restart_lsn)), slot.restart_lsn.str(),
                 slot.wal_status.value_or("unknown"),
                 source.safe_wal_size ? fmt::format(", {} left before it is invalidated",
                                                    human_bytes(static_cast<uint64_t>(std::max<int64_t>(0, *source.safe_wal_size))))
                                      : std::string());
    }
  }
  for (const SinkStatus& sink : sinks) {
    fmt::print("sink '{}': ", sink.name);
    if (!sink.keeps_state) {
      fmt::print("{}, keeps no checkpoint (follows the slot)\n", sink.kind);
      continue;
    }
    if (sink.error) {
      fmt::print("unreachable: {}\n", *sink.error);
      continue;
    }
    const SinkCheckpoint& cp = sink.checkpoint;
    if (!cp.position) {
      fmt::print("no checkpoint (nothing applied yet), snapshot {}\n", to_string(cp.snapshot));
      continue;
    }
    fmt::print("checkpoint {}", cp.position->str());
    if (!source.error) {
      if (const std::optional<uint64_t> lag = behind(source.current_wal, *cp.position)) {
        fmt::print(", {} behind the WAL", human_bytes(*lag));
      }
    }
    fmt::print(", snapshot {}", to_string(cp.snapshot));
    if (!cp.slot.empty() && cp.slot != pg::settings_of(config.source).slot) fmt::print(", follows slot '{}' (not this config's)", cp.slot);
    if (cp.rebuilding) fmt::print(", rebuilding from a copy at {}", cp.rebuilding->str());
    fmt::print("\n");
    for (const auto& table : resync_pending(source, sink)) {
      fmt::print("  {}: re-sync pending or running (its documents do not have the table's current shape yet)\n", table);
    }
  }
}

}  // namespace

int status_command(const Config& config, const StatusOptions& options) {
  const SourceStatus source = read_source(config);
  const std::vector<SinkStatus> sinks = read_sinks(config);
  if (options.json) {
    fmt::print("{}\n", to_json(config, source, sinks).dump(2));
  } else {
    print_text(config, source, sinks);
  }
  bool all_answered = !source.error;
  for (const SinkStatus& sink : sinks) all_answered = all_answered && !sink.error;
  return all_answered ? 0 : 1;
}

}  // namespace sluice
