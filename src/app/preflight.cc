#include "app/preflight.h"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/relation_catalog.h"
#include "source/postgres/postgres_source.h"
#include "source/postgres/slot.h"
#include "source/postgres/pg_source_config.h"

namespace sluice {

namespace {

void check_publication(const Config& config, pg::PgConnection& connection, const pg::RoleInfo& role,
                       bool owns_every_table, const std::vector<pg::TableInfo>& listed, PreflightReport& report);

void check_postgres(const Config& config, PreflightReport& report, std::vector<RelationPtr>& relations) {
  const auto& source = config.source;
  pg::PgConnection connection;
  try {
    connection = pg::PgConnection::connect(pg::settings_of(source).dsn, pg::PgConnection::Mode::kNormal);
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
      pg::PgConnection::connect(pg::settings_of(source).dsn, pg::PgConnection::Mode::kReplication);
    } catch (const Error& e) {
      report.problems.push_back(fmt::format(
          "role '{}' cannot open a replication connection: {} (pg_hba.conf needs a line for database "
          "'replication' that lets this role in from this host)",
          role.rolname, e.what()));
    }
  }
  if (!pg::can_execute(connection, "pg_catalog.pg_logical_emit_message(boolean, text, text)")) {
    report.warnings.push_back(fmt::format(
        "role '{}' may not execute pg_logical_emit_message, so there will be no heartbeats (lag in seconds is "
        "measured only while tables change) and no table re-syncs (a schema change of a captured table then stops "
        "the run, and `sluice resync` is refused): GRANT EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message("
        "boolean, text, text) TO {};",
        role.rolname, role.rolname));
  }
  bool owns_every_table = true;  // may create the publication FOR TABLE ...

  pg::RelationCatalog catalog(pg::settings_of(source).dsn);
  std::vector<pg::TableInfo> listed;  // the listed tables that exist
  for (const auto& table_name : source.tables) {
    auto table = pg::describe_table(connection, table_name);
    if (!table.exists) {
      report.problems.push_back(fmt::format("table {} does not exist (source.tables in {})", table_name, config.path));
      continue;
    }
    listed.push_back(table);
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
    relations.push_back(relation);
    for (const SinkConfig& sink : config.sinks) {
      if (!sink.plugin->table_problems) continue;
      for (const std::string& problem : sink.plugin->table_problems(sink, *relation)) {
        report.problems.push_back(fmt::format("sink '{}': {}", sink.name, problem));
      }
    }
    report.facts.push_back(fmt::format("table {}: {} columns, primary key ({}), ~{} rows", table_name,
                                       table.columns.size(), fmt::join(table.primary_key, ", "),
                                       static_cast<int64_t>(std::max(0.0, table.estimated_rows))));
  }

  check_publication(config, connection, role, owns_every_table, listed, report);

  auto slot = pg::query_slot(connection, pg::settings_of(source).slot);
  if (slot) {
    report.slot = pg::retained_stream_of(pg::settings_of(source).slot, slot->plugin, slot->wal_status);
    report.facts.push_back(fmt::format("slot '{}' exists: confirmed flush {}, {}{}", pg::settings_of(source).slot,
                                       slot->confirmed_flush_lsn.str(), slot->active ? "active" : "inactive",
                                       slot->wal_status ? ", wal_status " + *slot->wal_status : ""));
  } else {
    report.facts.push_back(fmt::format("slot '{}' will be created", pg::settings_of(source).slot));
  }
}

// Opens the sink and reads its checkpoint. `store_described` says the plugin's
// store_problems already reported what is wrong with this sink's store (it is
// unreachable, an index is missing, ...): a failure here then says the same
// thing less precisely and is left out.
void check_sink(const SinkConfig& sink_config, bool store_described, PreflightReport& report) {
  try {
    auto sink = make_sink(sink_config);
    auto checkpoint = sink->load_checkpoint();
    report.facts.push_back(fmt::format(
        "sink '{}' reachable; checkpoint {}, snapshot {}", sink_config.name,
        checkpoint.position ? checkpoint.position->str() : std::string("none"), to_string(checkpoint.snapshot)));
    report.checkpoints.push_back(
        {sink_config.name, checkpoint, sink_config.on_reset == OnReset::kRebuild && sink->rebuild_target() != nullptr,
         !sink->keeps_state()});
  } catch (const Error& e) {
    if (!store_described) report.problems.push_back(fmt::format("sink '{}': {}", sink_config.name, e.what()));
  }
}

std::string join_tables(const std::vector<std::string>& tables, size_t limit) {
  std::vector<std::string> shown(tables.begin(), tables.begin() + static_cast<long>(std::min(limit, tables.size())));
  std::string text = fmt::format("{}", fmt::join(shown, ", "));
  if (tables.size() > limit) text += fmt::format(" and {} more", tables.size() - limit);
  return text;
}

// The publication: it must publish every listed table under the name sluice
// knows it by. pg_publication_tables lists, for a partitioned table, the root
// when the publication sets publish_via_partition_root and its leaf partitions
// otherwise; PostgreSQL sends a partition's changes under the same name.
void check_publication(const Config& config, pg::PgConnection& connection, const pg::RoleInfo& role,
                       bool owns_every_table, const std::vector<pg::TableInfo>& listed, PreflightReport& report) {
  const auto& source = config.source;
  const std::string& name = pg::settings_of(source).publication;
  std::set<std::string> listed_names(source.tables.begin(), source.tables.end());
  // A listed partition whose root is listed too: its changes come under one name only.
  for (const auto& table : listed) {
    if (auto root = pg::partition_root(connection, table.oid); root && listed_names.count(root->qualified())) {
      report.problems.push_back(fmt::format(
          "source.tables lists both {} and its partition {}; a change is sent under one name only: list the "
          "partitioned table alone (it captures every partition)",
          root->qualified(), table.qualified_name()));
    }
  }

  auto publication = pg::query_publication(connection, name);
  report.publication_exists = publication.has_value();
  if (!publication) {
    if (!role.rolsuper && !(owns_every_table && pg::can_create_in_database(connection))) {
      report.problems.push_back(fmt::format(
          "publication '{}' does not exist, and role '{}' cannot create it (that needs CREATE on the database and "
          "ownership of every table): have the DBA run CREATE PUBLICATION {} FOR TABLE {}{};",
          name, role.rolname, name, fmt::join(source.tables, ", "),
          connection.server_version() >= 130000 ? " WITH (publish_via_partition_root = true)" : ""));
    } else {
      report.facts.push_back(fmt::format("publication '{}' will be created for the {} tables", name,
                                         source.tables.size()));
    }
    return;
  }
  if (!(publication->publishes_insert && publication->publishes_update && publication->publishes_delete &&
        publication->publishes_truncate)) {
    report.problems.push_back(fmt::format(
        "publication '{}' does not publish every operation; sluice needs insert, update, delete and truncate: "
        "ALTER PUBLICATION {} SET (publish = 'insert, update, delete, truncate');",
        name, name));
  }
  std::set<std::string> published;
  for (const auto& table : pg::publication_tables(connection, name)) published.insert(table.qualified());

  std::set<std::string> accounted;  // published names that belong to a listed table
  for (const auto& table : listed) {
    const std::string qualified = table.qualified_name();
    if (table.kind == 'p') {
      auto partitions = pg::leaf_partitions(connection, table.oid);
      const bool partitions_published = std::any_of(partitions.begin(), partitions.end(), [&](const auto& p) {
        return published.count(p.name.qualified()) > 0;
      });
      for (const auto& partition : partitions) accounted.insert(partition.name.qualified());
      if (published.count(qualified)) {
        accounted.insert(qualified);
        continue;
      }
      if (partitions_published || (publication->all_tables && !publication->via_root)) {
        report.problems.push_back(fmt::format(
            "publication '{}' publishes the partitions of {} under their own names, not as {}: ALTER PUBLICATION {} "
            "SET (publish_via_partition_root = true);",
            name, qualified, qualified, name));
      } else {
        report.problems.push_back(fmt::format("publication '{}' does not publish {}: ALTER PUBLICATION {} ADD TABLE {};",
                                              name, qualified, name, qualified));
      }
      continue;
    }
    if (published.count(qualified)) {
      accounted.insert(qualified);
      continue;
    }
    auto root = pg::partition_root(connection, table.oid);
    if (root && published.count(root->qualified())) {
      accounted.insert(root->qualified());
      report.problems.push_back(fmt::format(
          "publication '{}' sends the changes of {} under its partitioned table {} (publish_via_partition_root): "
          "list {} in source.tables instead of {}, or ALTER PUBLICATION {} SET (publish_via_partition_root = false);",
          name, qualified, root->qualified(), root->qualified(), qualified, name));
      continue;
    }
    report.problems.push_back(fmt::format("publication '{}' does not publish {}: ALTER PUBLICATION {} ADD TABLE {};",
                                          name, qualified, name, qualified));
  }

  std::vector<std::string> extra;
  for (const auto& table : published) {
    if (!accounted.count(table) && !listed_names.count(table)) extra.push_back(table);
  }
  if (!extra.empty()) {
    std::string fix = publication->all_tables
                          ? fmt::format("CREATE PUBLICATION ... FOR TABLE {} for sluice alone", fmt::join(source.tables, ", "))
                          : fmt::format("ALTER PUBLICATION {} DROP TABLE {};", name, fmt::join(extra, ", "));
    report.warnings.push_back(fmt::format(
        "publication '{}' also publishes {} table(s) sluice does not capture ({}): PostgreSQL decodes and sends "
        "their changes, which sluice leaves out and counts (sluice_source_changes_ignored_total); to stop that: {}",
        name, extra.size(), join_tables(extra, 5), fix));
  }
  report.facts.push_back(fmt::format("publication '{}' exists{}", name,
                                     publication->via_root ? " (publish_via_partition_root)" : ""));
}

}  // namespace

PreflightReport run_preflight(const Config& config) {
  PreflightReport report;
  std::vector<RelationPtr> relations;  // the listed tables, described
  try {
    check_postgres(config, report, relations);
  } catch (const Error& e) {
    report.problems.push_back(fmt::format("PostgreSQL: {}", e.what()));
  }
  for (const SinkConfig& sink : config.sinks) {
    std::vector<std::string> store_problems;
    if (sink.plugin->store_problems && !relations.empty()) store_problems = sink.plugin->store_problems(sink, relations);
    check_sink(sink, !store_problems.empty(), report);
    for (const std::string& problem : store_problems) {
      report.problems.push_back(fmt::format("sink '{}': {}", sink.name, problem));
    }
  }
  return report;
}

}  // namespace sluice
