#include "sink/manticore/manticore_config.h"

#include <cctype>

#include <fmt/format.h>

#include "config/config.h"
#include "core/error.h"
#include "sink/manticore/sphinxql_literal.h"
#include "sink/manticore/sphinxql_url.h"

namespace sluice {

const ManticoreTableConfig* ManticoreSinkConfig::table_config(const std::string& qualified_table) const {
  for (const ManticoreTableConfig& t : tables) {
    if (t.table == qualified_table) return &t;
  }
  return nullptr;
}

std::string expand_index_template(std::string_view index_template, std::string_view qualified_table) {
  const size_t dot = qualified_table.find('.');
  const std::string_view schema = dot == std::string_view::npos ? std::string_view("public") : qualified_table.substr(0, dot);
  const std::string_view table = dot == std::string_view::npos ? qualified_table : qualified_table.substr(dot + 1);
  std::string out;
  for (size_t i = 0; i < index_template.size();) {
    if (index_template.substr(i, 7) == "{table}") {
      out += table;
      i += 7;
    } else if (index_template.substr(i, 8) == "{schema}") {
      out += schema;
      i += 8;
    } else {
      out += index_template[i++];
    }
  }
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ManticoreSinkConfig::index_for(const std::string& qualified_table) const {
  return expand_index_template(index, qualified_table);
}

std::string ManticoreSinkConfig::state_place() const {
  try {
    return fmt::format("searchd {}, indexes \"{}\"", SphinxqlUrl::parse(url).endpoint(), index);
  } catch (const Error&) {
    return fmt::format("searchd (bad url), indexes \"{}\"", index);
  }
}

std::string ManticoreSinkConfig::describe() const {
  return fmt::format("search index per table, named like '{}', one document per row", index);
}

std::shared_ptr<const ManticoreSinkConfig> parse_manticore_sink_config(ConfigTable& sink,
                                                                      std::vector<ConfigTable*>& tables,
                                                                      const SinkConfig& common) {
  auto out = std::make_shared<ManticoreSinkConfig>();
  out->name = common.name;

  std::optional<std::string> url = sink.string("url", /*non_empty=*/true, /*secret=*/true);
  if (!url) sink.fail("url", "required key is missing (mysql://host:9306, searchd's SphinxQL listener)");
  try {
    SphinxqlUrl::parse(*url);
  } catch (const Error& e) {
    sink.fail("url", e.what());
  }
  out->url = std::move(*url);

  if (auto index = sink.string("index")) {
    // What the template gives for a plain table name must be an identifier.
    const std::string sample = expand_index_template(*index, "public.t");
    if (!is_plain_identifier(sample)) {
      sink.fail("index", fmt::format("'{}' does not make an index name of letters, digits and '_' "
                                     "(only {{schema}} and {{table}} are replaced)", *index));
    }
    out->index = std::move(*index);
  }

  for (size_t i = 0; i < tables.size() && i < common.tables.size(); ++i) {
    ConfigTable& table = *tables[i];
    const SinkTableConfig& shared = common.tables[i];
    std::optional<std::vector<std::string>> fields = table.identifiers("fields");
    if (!fields) {
      table.fail("fields", fmt::format("required for a search sink: name the full-text fields of {} "
                                       "(fields = [\"title\"]); searchd refuses an RT index without an rt_field",
                                       shared.table));
    }
    if (shared.exclude_columns) {
      for (const std::string& f : *fields) {
        for (const std::string& x : *shared.exclude_columns) {
          if (f == x) table.fail("fields", fmt::format("'{}' is also in exclude_columns", f));
        }
      }
    }
    const std::string index = expand_index_template(out->index, shared.table);
    for (const ManticoreTableConfig& earlier : out->tables) {
      if (out->index_for(earlier.table) == index) {
        table.fail("table", fmt::format("{} and {} would share index '{}' (document ids are unique within a table "
                                        "only): use {{table}} in the sink's index template",
                                        earlier.table, shared.table, index));
      }
    }
    out->tables.push_back(ManticoreTableConfig{shared.table, std::move(*fields), shared.columns, shared.exclude_columns});
  }
  if (out->tables.empty()) {
    sink.fail("kind", "a search sink indexes the tables its [[sinks.tables]] entries name, with their full-text "
                      "fields; it has none (add [[sinks.tables]] table = \"public.t\" fields = [\"title\"])");
  }
  return out;
}

}  // namespace sluice
