#include "source/postgres/postgres_source.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "source/postgres/catalog.h"
#include "source/postgres/heartbeat.h"
#include "source/postgres/instance_lock.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_consistent_snapshot.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/slot.h"
#include "source/postgres/stream_loop.h"
#include "source/postgres/table_resync.h"
#include "source/postgres/pg_source_config.h"

namespace sluice::pg {

RetainedStream retained_stream_of(const std::string& slot_name, const std::string& plugin,
                                  const std::optional<std::string>& wal_status) {
  RetainedStream out;
  if (wal_status == "lost") {
    out.lost = fmt::format(
        "replication slot '{}' was invalidated by PostgreSQL (wal_status = lost: the WAL it needed was "
        "removed, e.g. max_slot_wal_keep_size was exceeded); the changes since sluice last ran cannot be "
        "streamed. Recover with `sluice run --resnapshot`, which recreates the slot and rebuilds every sink",
        slot_name);
  }
  if (!plugin.empty() && plugin != "pgoutput") {
    out.unusable = fmt::format("replication slot '{}' uses output plugin '{}', sluice needs 'pgoutput'; "
                               "choose another source.slot or drop that slot",
                               slot_name, plugin);
  }
  return out;
}

PostgresSource::PostgresSource(const Config& config, Telemetry& telemetry) : config_(config), telemetry_(telemetry) {}

std::unique_ptr<ActiveInstance> PostgresSource::become_active(std::atomic<bool>& finish, StopSignal& stop,
                                                              Health* health) {
  return std::make_unique<InstanceLock>(config_, finish, stop, health);
}

void PostgresSource::prepare() {
  auto connection = PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal);
  if (publication_exists(connection, pg::settings_of(config_.source).publication)) return;
  std::vector<TableName> tables;
  for (const auto& table : config_.source.tables) tables.push_back(parse_table_name(table));
  create_publication(connection, pg::settings_of(config_.source).publication, tables);
  spdlog::info("created publication '{}' for {}", pg::settings_of(config_.source).publication, fmt::join(config_.source.tables, ", "));
}

std::optional<RetainedStream> PostgresSource::retained() {
  auto connection = PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal);
  auto slot = query_slot(connection, pg::settings_of(config_.source).slot);
  if (!slot) return std::nullopt;
  return retained_stream_of(pg::settings_of(config_.source).slot, slot->plugin, slot->wal_status);
}

void PostgresSource::drop_retained() {
  auto connection = PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal);
  drop_slot(connection, pg::settings_of(config_.source).slot);
  spdlog::info("dropped replication slot '{}'", pg::settings_of(config_.source).slot);
}

Position PostgresSource::create_retained(const SnapshotCopier* copy) {
  auto replication = PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kReplication);
  auto created = create_logical_slot(replication, pg::settings_of(config_.source).slot);
  spdlog::info("created replication slot '{}' at {}", pg::settings_of(config_.source).slot, created.consistent_point.str());
  // `replication` stays open and idle: the exported snapshot lives as long as it does.
  PgConsistentSnapshot snapshot(pg::settings_of(config_.source).dsn, created.snapshot_name, created.consistent_point);
  if (copy != nullptr) (*copy)(snapshot);
  return snapshot.at();
}

std::unique_ptr<ConsistentSnapshot> PostgresSource::open_copy_point() {
  return PgConsistentSnapshot::open_copy_point(pg::settings_of(config_.source).dsn, pg::settings_of(config_.source).slot);
}

Position PostgresSource::resume_point() {
  auto connection = PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal);
  auto slot = query_slot(connection, pg::settings_of(config_.source).slot);
  if (!slot) throw Error::state(fmt::format("replication slot '{}' disappeared while starting", pg::settings_of(config_.source).slot));
  return pg::position(slot->confirmed_flush_lsn);
}

std::map<std::string, std::string> PostgresSource::table_shapes() {
  auto connection = PgConnection::connect(pg::settings_of(config_.source).dsn, PgConnection::Mode::kNormal);
  std::map<std::string, std::string> shapes;
  for (const auto& table : config_.source.tables) shapes[table] = table_shape(connection, table);
  return shapes;
}

void PostgresSource::stream(std::vector<SinkRunner*> runners, std::atomic<bool>& finish, StopSignal& stop,
                            std::map<std::string, std::string> known_shapes) {
  Heartbeat heartbeat(config_, telemetry_);
  StreamLoop loop(config_, std::move(runners), finish, stop, telemetry_, std::move(known_shapes));
  loop.run();
}

}  // namespace sluice::pg
