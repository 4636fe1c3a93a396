#include "sink/manticore/manticore_plugin.h"

#include <fmt/format.h>

#include "config/config.h"
#include "core/column_selection.h"
#include "core/error.h"
#include "sink/manticore/document_layout.h"
#include "sink/manticore/manticore_config.h"
#include "sink/manticore/manticore_sink.h"
#include "sink/manticore/sphinxql_connection.h"
#include "sink/manticore/sphinxql_literal.h"

namespace sluice {
namespace {

// Where Debian's sphinxsearch keeps its indexes; only a suggestion in the block.
constexpr std::string_view kDataDirectory = "/var/lib/sphinxsearch/data";

DocumentLayout layout_of(const ManticoreSinkConfig& config, const ManticoreTableConfig& table,
                         const RelationPtr& relation, const std::vector<DescribedColumn>& described) {
  const std::vector<int> selected = selected_columns(*relation, table.columns, table.exclude_columns);
  return DocumentLayout(relation, config.index_for(table.table), table.fields, selected, described);
}

std::vector<std::string> table_problems(const SinkConfig& common, const Relation& relation) {
  const auto& config = common.settings_as<ManticoreSinkConfig>();
  const ManticoreTableConfig* table = config.table_config(relation.qualified_name());
  if (table == nullptr) return {};
  try {
    auto shared = std::make_shared<const Relation>(relation);
    layout_of(config, *table, shared, {}).definition();
  } catch (const Error& e) {
    return {fmt::format("table {}: {}", table->table, e.what())};
  }
  return {};
}

std::string index_block(const IndexDefinition& definition) {
  return fmt::format(
      "add this index to sphinx.conf and restart searchd (Sphinx 2.2):\n{}\n  or, for Manticore Search in RT "
      "mode:\n    {};",
      definition.sphinx_conf_block(fmt::format("{}/{}", kDataDirectory, definition.name())),
      definition.manticore_create_table());
}

std::vector<std::string> store_problems(const SinkConfig& common, const std::vector<RelationPtr>& relations) {
  const auto& config = common.settings_as<ManticoreSinkConfig>();
  std::vector<std::string> problems;
  std::unique_ptr<SphinxqlConnection> conn;
  try {
    conn = std::make_unique<SphinxqlConnection>(SphinxqlUrl::parse(config.url), SphinxqlConnection::Options{},
                                                "search sink '" + config.name + "'");
  } catch (const Error& e) {
    return {e.what()};  // the sink's own reachability check says it too
  }
  for (const RelationPtr& relation : relations) {
    const ManticoreTableConfig* table = config.table_config(relation->qualified_name());
    if (table == nullptr) continue;
    const std::string index = config.index_for(table->table);
    try {
      std::vector<DescribedColumn> described;
      try {
        described = parse_describe(conn->query("DESCRIBE " + quote_identifier(index)));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::kServer) throw;
        const DocumentLayout layout = layout_of(config, *table, relation, {});
        problems.push_back(fmt::format("index '{}' (for table {}) does not exist in searchd at {}: {}", index,
                                       table->table, SphinxqlUrl::parse(config.url).endpoint(),
                                       index_block(layout.definition(/*store_fields=*/true))));
        continue;
      }
      const DocumentLayout layout = layout_of(config, *table, relation, described);
      const std::vector<SchemaProblem> found = compare_schema(layout.definition(), described);
      if (found.empty()) continue;
      std::string message = fmt::format("index '{}' does not fit table {}:", index, table->table);
      for (const SchemaProblem& p : found) message += "\n  " + p.message(index);
      message += "\n  the whole index, for a new one: " + index_block(layout.definition(/*store_fields=*/true));
      problems.push_back(std::move(message));
    } catch (const Error& e) {
      problems.push_back(fmt::format("index '{}': {}", index, e.what()));
    }
  }
  return problems;
}

}  // namespace

SinkPlugin manticore_sink_plugin() {
  SinkPlugin plugin;
  plugin.kind = "manticore";
  plugin.keys = {"url", "index"};
  plugin.table_keys = {"fields"};
  plugin.parse = [](ConfigTable& sink, std::vector<ConfigTable*>& tables, const SinkConfig& common) {
    return std::shared_ptr<const SinkSettings>(parse_manticore_sink_config(sink, tables, common));
  };
  plugin.make = [](const SinkConfig& common) -> std::unique_ptr<Sink> {
    return std::make_unique<ManticoreSink>(common.settings_as<ManticoreSinkConfig>());
  };
  plugin.table_problems = table_problems;
  plugin.store_problems = store_problems;
  return plugin;
}

}  // namespace sluice
