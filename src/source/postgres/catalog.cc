#include "source/postgres/catalog.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace sluice::pg {

namespace {

int to_int(std::string_view text, std::string_view what) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw Error::protocol(fmt::format("PostgreSQL returned '{}' for {}, expected an integer", text, what));
  }
  return value;
}

uint32_t to_oid(std::string_view text, std::string_view what) {
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw Error::protocol(fmt::format("PostgreSQL returned '{}' for {}, expected an OID", text, what));
  }
  return value;
}

bool to_bool(std::string_view text) { return text == "t"; }

}  // namespace

TableName parse_table_name(std::string_view qualified) {
  auto dot = qualified.find('.');
  TableName t;
  if (dot == std::string_view::npos) {
    t.schema = "public";
    t.name = qualified;
  } else {
    t.schema = qualified.substr(0, dot);
    t.name = qualified.substr(dot + 1);
  }
  if (t.schema.empty() || t.name.empty()) {
    throw Error::invalid_input(fmt::format("'{}' is not a table name (expected schema.table)", qualified));
  }
  return t;
}

int TableInfo::column_index(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

ServerSettings server_settings(PgConnection& conn) {
  PgResult r = conn.exec(
      "SELECT current_setting('wal_level'), current_setting('server_version_num'), "
      "current_setting('max_replication_slots'), current_setting('max_wal_senders')");
  ServerSettings s;
  s.wal_level = r.value(0, 0);
  s.server_version_num = to_int(r.value(0, 1), "server_version_num");
  s.max_replication_slots = to_int(r.value(0, 2), "max_replication_slots");
  s.max_wal_senders = to_int(r.value(0, 3), "max_wal_senders");
  return s;
}

TableInfo describe_table(PgConnection& conn, std::string_view qualified) {
  return describe_table(conn, parse_table_name(qualified));
}

TableInfo describe_table(PgConnection& conn, const TableName& table) {
  TableInfo info;
  info.schema = table.schema;
  info.name = table.name;

  PgResult rel = conn.exec_params(
      "SELECT c.oid, c.relkind, c.relreplident, c.reltuples "
      "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2",
      {table.schema, table.name});
  if (rel.rows() == 0) return info;
  info.exists = true;
  info.oid = to_oid(rel.value(0, 0), "pg_class.oid");
  info.kind = rel.value(0, 1).empty() ? 0 : rel.value(0, 1)[0];
  info.replica_identity = rel.value(0, 2).empty() ? 'd' : rel.value(0, 2)[0];
  // reltuples is an estimate for progress reports; text that does not parse counts as 0.
  double reltuples = 0;
  auto text = rel.value(0, 3);
  std::from_chars(text.data(), text.data() + text.size(), reltuples);
  info.estimated_rows = reltuples > 0 ? reltuples : 0;

  const int version = conn.server_version();
  const std::string oid = std::to_string(info.oid);

  // Generated columns (PG12+) are not sent by pgoutput (before PG18's
  // publish_generated_columns, which sluice does not enable).
  std::string columns_sql =
      "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull "
      "FROM pg_catalog.pg_attribute a "
      "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped";
  if (version >= 120000) columns_sql += " AND a.attgenerated = ''";
  columns_sql += " ORDER BY a.attnum";
  PgResult cols = conn.exec_params(columns_sql, {oid});
  for (int i = 0; i < cols.rows(); ++i) {
    ColumnInfo c;
    c.name = cols.value(i, 0);
    c.type_oid = to_oid(cols.value(i, 1), "pg_attribute.atttypid");
    c.type_modifier = to_int(cols.value(i, 2), "pg_attribute.atttypmod");
    c.not_null = to_bool(cols.value(i, 3));
    info.columns.push_back(std::move(c));
  }

  // Key columns in index order; INCLUDE columns (PG11+) come after indnkeyatts.
  std::string key_count = version >= 110000 ? "i.indnkeyatts" : "i.indnatts";
  PgResult pk = conn.exec_params(
      "SELECT a.attname "
      "FROM pg_catalog.pg_index i "
      "CROSS JOIN LATERAL unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
      "WHERE i.indrelid = $1 AND i.indisprimary AND k.ord <= " + key_count + " ORDER BY k.ord",
      {oid});
  for (int i = 0; i < pk.rows(); ++i) info.primary_key.emplace_back(pk.value(i, 0));

  // indkey 0 marks an expression column; indpred a partial index.
  std::string nulls_not_distinct = version >= 150000 ? "i.indnullsnotdistinct" : "false";
  PgResult unique = conn.exec_params(
      "SELECT i.indexrelid, a.attname, a.attnotnull OR " + nulls_not_distinct +
          " FROM pg_catalog.pg_index i "
          "CROSS JOIN LATERAL unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord) "
          "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
          "WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND k.ord <= " +
          key_count + " ORDER BY i.indexrelid, k.ord",
      {oid});
  std::string current_index;
  bool usable = false;
  std::vector<std::string> key;
  auto flush = [&] {
    if (!current_index.empty() && usable && !key.empty()) info.unique_keys.push_back(key);
    key.clear();
    usable = true;
  };
  for (int i = 0; i < unique.rows(); ++i) {
    if (unique.value(i, 0) != current_index) {
      flush();
      current_index = std::string(unique.value(i, 0));
    }
    // An expression column has no pg_attribute row (NULL name).
    if (unique.is_null(i, 1) || !to_bool(unique.value(i, 2))) usable = false;
    else key.emplace_back(unique.value(i, 1));
  }
  flush();
  return info;
}

TablePrivileges table_privileges(PgConnection& conn, const TableInfo& table) {
  if (table.oid == 0) {
    throw Error::internal(fmt::format("table_privileges on {} without an OID", table.qualified_name()));
  }
  PgResult r = conn.exec_params(
      "SELECT pg_catalog.has_table_privilege(c.oid, 'SELECT'), pg_catalog.pg_has_role(c.relowner, 'USAGE') "
      "FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.oid",
      {std::to_string(table.oid)});
  TablePrivileges p;
  p.select = r.rows() == 1 && to_bool(r.value(0, 0));
  p.owner = r.rows() == 1 && to_bool(r.value(0, 1));
  return p;
}

bool can_create_in_database(PgConnection& conn) {
  PgResult r = conn.exec("SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')");
  return r.rows() == 1 && to_bool(r.value(0, 0));
}

bool can_execute(PgConnection& conn, const std::string& signature) {
  PgResult r = conn.exec_params("SELECT pg_catalog.has_function_privilege($1, 'EXECUTE')", {signature});
  return r.rows() == 1 && to_bool(r.value(0, 0));
}

bool can_select(PgConnection& conn, std::string_view qualified) {
  TableInfo table = describe_table(conn, qualified);
  return table.exists && table_privileges(conn, table).select;
}

RoleInfo role_info(PgConnection& conn) {
  PgResult r = conn.exec(
      "SELECT rolname, rolreplication, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user");
  if (r.rows() != 1) throw Error::server(fmt::format("PostgreSQL {}: current_user is not in pg_roles", conn.where()));
  return RoleInfo{std::string(r.value(0, 0)), to_bool(r.value(0, 1)), to_bool(r.value(0, 2))};
}

std::optional<PublicationInfo> query_publication(PgConnection& conn, const std::string& name) {
  std::string truncate = conn.server_version() >= 110000 ? "pubtruncate" : "true";
  std::string via_root = conn.server_version() >= 130000 ? "pubviaroot" : "false";
  PgResult r = conn.exec_params(
      "SELECT puballtables, pubinsert, pubupdate, pubdelete, " + truncate + ", " + via_root +
          " FROM pg_catalog.pg_publication WHERE pubname = $1",
      {name});
  if (r.rows() == 0) return std::nullopt;
  PublicationInfo p;
  p.name = name;
  p.all_tables = to_bool(r.value(0, 0));
  p.publishes_insert = to_bool(r.value(0, 1));
  p.publishes_update = to_bool(r.value(0, 2));
  p.publishes_delete = to_bool(r.value(0, 3));
  p.publishes_truncate = to_bool(r.value(0, 4));
  p.via_root = to_bool(r.value(0, 5));
  return p;
}

bool publication_exists(PgConnection& conn, const std::string& name) {
  return query_publication(conn, name).has_value();
}

std::vector<TableName> publication_tables(PgConnection& conn, const std::string& name) {
  PgResult r = conn.exec_params(
      "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1 "
      "ORDER BY 1, 2",
      {name});
  std::vector<TableName> tables;
  for (int i = 0; i < r.rows(); ++i) {
    tables.push_back({std::string(r.value(i, 0)), std::string(r.value(i, 1))});
  }
  return tables;
}

std::optional<TableName> partition_root(PgConnection& conn, uint32_t table_oid) {
  if (conn.server_version() < 120000) return std::nullopt;
  PgResult r = conn.exec_params(
      "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.oid = pg_catalog.pg_partition_root($1::pg_catalog.oid) AND c.oid <> $1::pg_catalog.oid",
      {std::to_string(table_oid)});
  if (r.rows() == 0) return std::nullopt;
  return TableName{std::string(r.value(0, 0)), std::string(r.value(0, 1))};
}

std::vector<PartitionInfo> leaf_partitions(PgConnection& conn, uint32_t table_oid) {
  std::vector<PartitionInfo> partitions;
  if (conn.server_version() < 120000) return partitions;
  PgResult r = conn.exec_params(
      "SELECT n.nspname, c.relname, c.oid, c.relfilenode "
      "FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid) t "
      "JOIN pg_catalog.pg_class c ON c.oid = t.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE t.isleaf AND t.level > 0 ORDER BY c.oid",
      {std::to_string(table_oid)});
  for (int i = 0; i < r.rows(); ++i) {
    partitions.push_back({{std::string(r.value(i, 0)), std::string(r.value(i, 1))},
                          to_oid(r.value(i, 2), "pg_class.oid"),
                          to_oid(r.value(i, 3), "pg_class.relfilenode")});
  }
  return partitions;
}

void create_publication(PgConnection& conn, const std::string& name, const std::vector<TableName>& tables) {
  if (tables.empty()) {
    throw Error::invalid_input(fmt::format("publication {} needs at least one table", name));
  }
  std::string sql = "CREATE PUBLICATION " + conn.quote_identifier(name) + " FOR TABLE ";
  for (size_t i = 0; i < tables.size(); ++i) {
    if (i) sql += ", ";
    sql += conn.quote_qualified(tables[i].schema, tables[i].name);
  }
  if (conn.server_version() >= 130000) sql += " WITH (publish_via_partition_root = true)";
  conn.exec(sql);
}

void create_publication(PgConnection& conn, const std::string& name, const std::vector<std::string>& tables) {
  std::vector<TableName> parsed;
  for (const auto& table : tables) parsed.push_back(parse_table_name(table));
  create_publication(conn, name, parsed);
}

}  // namespace sluice::pg
