// Questions sluice asks PostgreSQL's catalog before and while it streams: server
// settings for `sluice check`, the shape of a table (the column set pgoutput sends,
// the primary key), privileges, the role, and publications.
//
// All functions run plain SQL on a normal (or replication=database) connection and
// throw what PgConnection throws. Supported servers: PostgreSQL 10 and later
// (pgoutput's first release); queries adapt to the server version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/postgres/pg_connection.h"

namespace sluice::pg {

// "schema.table" split into its parts. Names are matched exactly as written (no
// case folding, no quoting): "public.Users" is the table created as "Users".
struct TableName {
  std::string schema;
  std::string name;
  std::string qualified() const { return schema + "." + name; }
  bool operator==(const TableName&) const = default;
};
// "s.t" -> {s, t}; "t" -> {public, t}. Throws Error::invalid_input on "", ".t", "s.".
TableName parse_table_name(std::string_view qualified);

struct ServerSettings {
  std::string wal_level;            // "logical" is required
  int server_version_num = 0;       // e.g. 150004
  int max_replication_slots = 0;
  int max_wal_senders = 0;
};
ServerSettings server_settings(PgConnection& conn);

struct ColumnInfo {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool not_null = false;
  bool operator==(const ColumnInfo&) const = default;
};

struct TableInfo {
  bool exists = false;
  uint32_t oid = 0;
  std::string schema;
  std::string name;
  char kind = 0;                  // pg_class.relkind: 'r' table, 'p' partitioned, 'v' view, ...
  char replica_identity = 'd';    // 'd' default (pk), 'n' nothing, 'f' full, 'i' index
  // Primary key columns in index key order (INCLUDE columns left out); empty when
  // the table has no primary key.
  std::vector<std::string> primary_key;
  // Column sets no two rows can share: every valid, non-partial unique index on
  // plain columns whose columns are all NOT NULL (or, PG15+, NULLS NOT
  // DISTINCT), key columns in index order. The primary key is one of them.
  std::vector<std::vector<std::string>> unique_keys;
  // attnum order, without dropped and generated columns: the columns pgoutput sends.
  std::vector<ColumnInfo> columns;
  // pg_class.reltuples; 0 when the table was never analyzed (-1 on PG14+).
  double estimated_rows = 0;

  std::string qualified_name() const { return schema + "." + name; }
  // Index of the column with this name in `columns`, or -1.
  int column_index(std::string_view column) const;
};

// The table, or {exists = false, schema, name} when there is none.
TableInfo describe_table(PgConnection& conn, std::string_view qualified);
TableInfo describe_table(PgConnection& conn, const TableName& table);

struct TablePrivileges {
  bool select = false;  // table-level SELECT (column grants are not considered)
  bool owner = false;   // the user is (a member of) the table's owner: may add it to a publication
};
// The current user's privileges on an existing table (table.oid must be set).
TablePrivileges table_privileges(PgConnection& conn, const TableInfo& table);
// table_privileges(...).select for "schema.table"; false when the table does not exist.
bool can_select(PgConnection& conn, std::string_view qualified);

struct RoleInfo {
  std::string rolname;
  bool rolreplication = false;
  bool rolsuper = false;
};
// The role of the session (current_user).
RoleInfo role_info(PgConnection& conn);
// Whether current_user may create objects (a publication) in the current database.
bool can_create_in_database(PgConnection& conn);
// Whether current_user may EXECUTE the function with this signature, e.g.
// "pg_catalog.pg_logical_emit_message(boolean, text, text)".
bool can_execute(PgConnection& conn, const std::string& signature);

struct PublicationInfo {
  std::string name;
  bool all_tables = false;  // FOR ALL TABLES
  bool publishes_insert = true;
  bool publishes_update = true;
  bool publishes_delete = true;
  bool publishes_truncate = true;  // PG11+; true on PG10 (no truncate there)
  // publish_via_partition_root (PG13+; false before): a partitioned table's
  // changes are sent under the root's name instead of each partition's.
  bool via_root = false;
};
std::optional<PublicationInfo> query_publication(PgConnection& conn, const std::string& name);
bool publication_exists(PgConnection& conn, const std::string& name);
// The tables the publication publishes (pg_publication_tables; for FOR ALL TABLES
// every table), sorted by schema and name.
std::vector<TableName> publication_tables(PgConnection& conn, const std::string& name);
// The top-most partitioned table `table` is a partition of (pg_partition_root),
// or nullopt when it is not a partition (or on PostgreSQL 11 and older).
std::optional<TableName> partition_root(PgConnection& conn, uint32_t table_oid);

// Every leaf partition of a partitioned table (pg_partition_tree), with the
// relfilenode that TRUNCATE of that partition replaces; empty for other tables.
struct PartitionInfo {
  TableName name;
  uint32_t oid = 0;
  uint32_t relfilenode = 0;
};
std::vector<PartitionInfo> leaf_partitions(PgConnection& conn, uint32_t table_oid);

// CREATE PUBLICATION name FOR TABLE a, b (each part quoted as an identifier),
// WITH (publish_via_partition_root = true) on PostgreSQL 13 and later, so that
// a listed partitioned table's changes come under its own name, whichever
// partition (present or attached later) holds the row. Needs at least one table.
void create_publication(PgConnection& conn, const std::string& name, const std::vector<TableName>& tables);
// Same with "schema.table" names (parse_table_name).
void create_publication(PgConnection& conn, const std::string& name, const std::vector<std::string>& tables);

}  // namespace sluice::pg
