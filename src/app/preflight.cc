#include "app/preflight.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "format/key_template.h"
#include "sink/make_sink.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/relation_catalog.h"
#include "source/postgres/slot.h"

namespace sluice {

namespace {

void check_postgres(const Config& config, PreflightReport& report) {
  const auto& source = config.source;
  pg::PgConnection connection;
  try {
    connection = pg::PgConnection::connect(source.dsn, pg::PgConnection::Mode::kNormal);
  } catch (const Error& e) {
    report.problems.push_back(fmt::format("cannot connect to PostgreSQL: {}", e.what()));
    return;
  }
  report.facts.push_back(
      fmt::format("PostgreSQL {} reachable at {}", connection.server_version_text(), connection.where()));

  auto settings = pg::server_settings(connection);
  if (settings.wal_level != "logical") {
    report.problems.push_back(fmt::format(
        "wal_level is '{}', logical decoding needs 'logical': run ALTER SYSTEM SET wal_level = logical; "
        "then restart PostgreSQL", settings.wal_level));
  } else {
    report.facts.push_back("wal_level = logical");
  }
  auto role = pg::role_info(connection);
  if (!role.rolreplication && !role.rolsuper) {
    report.problems.push_back(fmt::format(
        "role '{}' lacks the REPLICATION attribute needed to stream from a slot: ALTER ROLE {} REPLICATION;",
        role.rolname, role.rolname));
  } else {
    try {
      pg::PgConnection::connect(source.dsn, pg::PgConnection::Mode::kReplication);
    } catch (const Error& e) {
      report.problems.push_back(fmt::format(
          "role '{}' cannot open a replication connection: {} (pg_hba.conf needs a line for database "
          "'replication' that lets this role in from this host)",
          role.rolname, e.what()));
    }
  }
  if (source.heartbeat_interval.count() > 0 &&
      !pg::can_execute(connection, "pg_catalog.pg_logical_emit_message(boolean, text, text)")) {
    report.warnings.push_back(fmt::format(
        "role '{}' may not execute pg_logical_emit_message, so there will be no heartbeats (lag in seconds is "
        "measured only while tables change): GRANT EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, "
        "text, text) TO {}; or set source.heartbeat_interval_ms = 0",
        role.rolname, role.rolname));
  }
  bool owns_every_table = true;  // may create the publication FOR TABLE ...

  pg::RelationCatalog catalog(source.dsn);
  for (const auto& table_name : source.tables) {
    auto table = pg::describe_table(connection, table_name);
    if (!table.exists) {
      report.problems.push_back(fmt::format("table {} does not exist (source.tables in {})", table_name, config.path));
      continue;
    }
    if (table.primary_key.empty() && table.replica_identity != 'f') {
      report.problems.push_back(fmt::format(
          "table {} has no primary key and its replica identity is not FULL, so updates and deletes cannot "
          "be identified: add a primary key, or ALTER TABLE {} REPLICA IDENTITY FULL;", table_name, table_name));
    }
    if (table.replica_identity == 'n') {
      report.problems.push_back(fmt::format(
          "table {} has REPLICA IDENTITY NOTHING: its updates and deletes cannot be published; "
          "ALTER TABLE {} REPLICA IDENTITY DEFAULT;", table_name, table_name));
    }
    const pg::TablePrivileges privileges = pg::table_privileges(connection, table);
    if (!privileges.select) {
      report.problems.push_back(fmt::format("role '{}' cannot SELECT from {}: GRANT SELECT ON {} TO {};",
                                            role.rolname, table_name, table_name, role.rolname));
    }
    owns_every_table = owns_every_table && privileges.owner;
    RelationPtr relation;
    try {
      relation = catalog.describe(table);
    } catch (const Error& e) {
      report.problems.push_back(fmt::format("table {}: {}", table_name, e.what()));
      continue;
    }
    for (size_t i = 0; i < config.sinks.size(); ++i) {
      const auto& sink = config.sinks[i];
      const auto* override = sink.table_override(table_name);
      std::string text = override && override->key ? *override->key : sink.key;
      try {
        auto key = KeyTemplate::parse(text);
        key.check(*relation);
        if (sink.mode != SinkMode::kUpsert && table.replica_identity != 'f') {
          // Without the upsert index, a delete only knows the replica identity.
          for (const auto& column : key.columns(*relation)) {
            if (std::find(table.primary_key.begin(), table.primary_key.end(), column) == table.primary_key.end()) {
              report.problems.push_back(fmt::format(
                  "sink '{}': key template '{}' for {} uses column '{}', which a delete does not carry "
                  "(not in the primary key); use primary-key columns, or ALTER TABLE {} REPLICA IDENTITY FULL;",
                  sink.name, text, table_name, column, table_name));
            }
          }
        }
      } catch (const Error& e) {
        report.problems.push_back(fmt::format("sink '{}': {}", sink.name, e.what()));
      }
    }
    report.facts.push_back(fmt::format("table {}: {} columns, primary key ({}), ~{} rows", table_name,
                                       table.columns.size(), fmt::join(table.primary_key, ", "),
                                       static_cast<int64_t>(std::max(0.0, table.estimated_rows))));
  }

  report.publication_exists = pg::publication_exists(connection, source.publication);
  if (report.publication_exists) {
    std::set<std::string> have;
    for (const auto& table : pg::publication_tables(connection, source.publication)) have.insert(table.qualified());
    auto publication = pg::query_publication(connection, source.publication);
    if (publication && !(publication->publishes_insert && publication->publishes_update &&
                         publication->publishes_delete && publication->publishes_truncate)) {
      report.problems.push_back(fmt::format(
          "publication '{}' does not publish every operation; sluice needs insert, update, delete and truncate: "
          "ALTER PUBLICATION {} SET (publish = 'insert, update, delete, truncate');",
          source.publication, source.publication));
    }
    for (const auto& table : source.tables) {
      if (!have.count(table)) {
        report.problems.push_back(fmt::format(
            "publication '{}' does not publish {}: ALTER PUBLICATION {} ADD TABLE {};", source.publication,
            table, source.publication, table));
      }
    }
    report.facts.push_back(fmt::format("publication '{}' exists", source.publication));
  } else if (!role.rolsuper && !(owns_every_table && pg::can_create_in_database(connection))) {
    report.problems.push_back(fmt::format(
        "publication '{}' does not exist, and role '{}' cannot create it (that needs CREATE on the database and "
        "ownership of every table): have the DBA run CREATE PUBLICATION {} FOR TABLE {};",
        source.publication, role.rolname, source.publication, fmt::join(source.tables, ", ")));
  } else {
    report.facts.push_back(fmt::format("publication '{}' will be created for the {} tables", source.publication,
                                       source.tables.size()));
  }

  auto slot = pg::query_slot(connection, source.slot);
  if (slot) {
    report.slot = SlotState{slot->plugin, slot->wal_status.value_or("")};
    report.facts.push_back(fmt::format("slot '{}' exists: confirmed flush {}, {}{}", source.slot,
                                       slot->confirmed_flush_lsn.str(), slot->active ? "active" : "inactive",
                                       slot->wal_status ? ", wal_status " + *slot->wal_status : ""));
  } else {
    report.facts.push_back(fmt::format("slot '{}' will be created", source.slot));
  }
}

void check_sinks(const Config& config, PreflightReport& report) {
  for (const auto& sink_config : config.sinks) {
    try {
      auto sink = make_sink(sink_config);
      auto checkpoint = sink->load_checkpoint();
      report.facts.push_back(fmt::format(
          "sink '{}' reachable; checkpoint {}, snapshot {}", sink_config.name,
          checkpoint.position ? checkpoint.position->str() : std::string("none"), to_string(checkpoint.snapshot)));
      report.checkpoints.push_back(
          {sink_config.name, checkpoint, sink_config.on_reset == OnReset::kRebuild, !sink->keeps_state()});
    } catch (const Error& e) {
      report.problems.push_back(fmt::format("sink '{}': {}", sink_config.name, e.what()));
    }
  }
}

}  // namespace

PreflightReport run_preflight(const Config& config) {
  PreflightReport report;
  try {
    check_postgres(config, report);
  } catch (const Error& e) {
    report.problems.push_back(fmt::format("PostgreSQL: {}", e.what()));
  }
  check_sinks(config, report);
  return report;
}

}  // namespace sluice
