#include "source/postgres/relation_catalog.h"


#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "source/postgres/replica_identity.h"

namespace sluice::pg {

RelationCatalog::RelationCatalog(std::string dsn)
    : dsn_(std::move(dsn)), types_([this]() -> PgConnection& { return connection(); }) {}

PgConnection& RelationCatalog::connection() {
  if (!connection_) connection_ = std::make_unique<PgConnection>(PgConnection::connect(dsn_, PgConnection::Mode::kNormal));
  return *connection_;
}

namespace {
bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Relation::primary_key from the catalog's key column names, in key order.
std::vector<int> key_order(const Relation& relation, const std::vector<std::string>& primary_key) {
  std::vector<int> indexes;
  for (const auto& name : primary_key) {
    const int index = relation.column_index(name);
    if (index < 0) {
      throw Error::server(fmt::format("table {}: primary-key column '{}' is not among the columns PostgreSQL sent",
                                      relation.qualified_name(), name));
    }
    indexes.push_back(index);
  }
  return indexes;
}
}  // namespace

RelationPtr RelationCatalog::complete(const Relation& decoded) {
  TableInfo table = describe_table(connection(), decoded.qualified_name());
  auto relation = std::make_shared<Relation>(decoded);
  for (auto& column : relation->columns) {
    column.type = types_.resolve(column.source_type_id);
    column.in_primary_key = contains(table.primary_key, column.name);
  }
  relation->primary_key = key_order(*relation, table.primary_key);
  relation->unique_keys = table.unique_keys;
  return relation;
}

RelationPtr RelationCatalog::describe(const TableInfo& table) {
  auto relation = std::make_shared<Relation>();
  relation->source_id = table.oid;
  relation->schema = table.schema;
  relation->name = table.name;
  relation->old_row = old_row_of(table.replica_identity);
  for (const auto& info : table.columns) {
    Column column;
    column.name = info.name;
    column.source_type_id = info.type_oid;
    column.source_type_modifier = info.type_modifier;
    column.in_primary_key = contains(table.primary_key, info.name);
    column.in_identity = table.replica_identity == 'f' || column.in_primary_key;
    column.type = types_.resolve(info.type_oid);
    relation->columns.push_back(std::move(column));
  }
  relation->primary_key = key_order(*relation, table.primary_key);
  relation->unique_keys = table.unique_keys;
  return relation;
}

}  // namespace sluice::pg
