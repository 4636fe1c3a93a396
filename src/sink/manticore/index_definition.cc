#include "sink/manticore/index_definition.h"

#include <algorithm>

#include "core/error.h"
#include "sink/manticore/sphinxql_literal.h"

namespace sluice {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const char* directive_of(AttributeType type) {
  switch (type) {
    case AttributeType::kBigint: return "rt_attr_bigint";
    case AttributeType::kBool: return "rt_attr_bool";
    case AttributeType::kFloat: return "rt_attr_float";
    case AttributeType::kTimestamp: return "rt_attr_timestamp";
    case AttributeType::kJson: return "rt_attr_json";
    case AttributeType::kString: return "rt_attr_string";
  }
  return "rt_attr_string";
}

// The type word of Sphinx 2.2's ALTER TABLE ... ADD COLUMN; none for timestamp.
std::optional<std::string_view> alter_type_of(AttributeType type) {
  switch (type) {
    case AttributeType::kBigint: return "BIGINT";
    case AttributeType::kBool: return "BOOL";
    case AttributeType::kFloat: return "FLOAT";
    case AttributeType::kTimestamp: return std::nullopt;
    case AttributeType::kJson: return "JSON";
    case AttributeType::kString: return "STRING";
  }
  return std::nullopt;
}

bool is_reserved(std::string_view name) { return name.rfind("_sluice_", 0) == 0; }

const DescribedColumn* find(const std::vector<DescribedColumn>& described, std::string_view name,
                            bool (*wanted)(const DescribedColumn&)) {
  for (const DescribedColumn& c : described) {
    if (lower(c.name) == name && wanted(c)) return &c;
  }
  return nullptr;
}

bool is_field(const DescribedColumn& c) {
  if (c.type == "field" || c.type == "text") return true;
  // Manticore's "string attribute indexed" (not seen here: no Manticore installed).
  return c.type == "string" && c.properties.find("indexed") != std::string::npos;
}

bool is_attribute(const DescribedColumn& c) { return c.type != "field" && c.type != "text"; }

}  // namespace

std::string search_name_of(std::string_view column_name) {
  if (!is_plain_identifier(column_name)) {
    throw Error::config("column '" + std::string(column_name) +
                        "' has no search name: attribute and field names are letters, digits and '_', "
                        "not starting with a digit");
  }
  return lower(column_name);
}

IndexDefinition::IndexDefinition(std::string name, std::vector<std::string> fields,
                                 std::vector<IndexAttribute> attributes) {
  auto bad = [&](const std::string& what) { return Error::config("search index '" + name + "': " + what); };
  if (!is_plain_identifier(name)) {
    throw bad("the index name must be letters, digits and '_', not starting with a digit");
  }
  name_ = lower(name);
  if (fields.empty()) throw bad("needs at least one full-text field (searchd refuses an RT index without rt_field)");

  auto check_name = [&](const std::string& n, const char* what) {
    if (!is_plain_identifier(n)) {
      throw bad(std::string(what) + " '" + n + "' is not a name searchd takes (letters, digits and '_', not starting with a digit)");
    }
    const std::string l = lower(n);
    if (l == "id") throw bad(std::string(what) + " 'id': id is the document id in every index");
    if (is_reserved(l)) throw bad(std::string(what) + " '" + n + "': names starting with _sluice_ are reserved");
    return l;
  };
  for (const std::string& f : fields) {
    std::string l = check_name(f, "field");
    if (std::find(fields_.begin(), fields_.end(), l) != fields_.end()) throw bad("field '" + l + "' is listed twice");
    fields_.push_back(std::move(l));
  }
  for (const IndexAttribute& a : attributes) {
    IndexAttribute attr{check_name(a.name, "attribute"), a.type};
    for (const IndexAttribute& seen : attributes_) {
      if (seen.name == attr.name) throw bad("attribute '" + attr.name + "' is listed twice (names ignore case)");
    }
    if (attr.type != AttributeType::kString &&
        std::find(fields_.begin(), fields_.end(), attr.name) != fields_.end()) {
      throw bad("'" + attr.name + "' is a full-text field and a " + std::string(to_string(attr.type)) +
                " attribute: a field can share its name only with a string attribute");
    }
    attributes_.push_back(std::move(attr));
  }
  for (std::string_view reserved : {kVersionAttribute, kIdentityAttribute, kDigestAttribute, kCheckpointAttribute}) {
    attributes_.push_back({std::string(reserved), AttributeType::kString});
  }
}

std::string config_line(const IndexAttribute& attribute) {
  return std::string(directive_of(attribute.type)) + " = " + attribute.name;
}

std::string IndexDefinition::sphinx_conf_block(std::string_view path) const {
  if (path.empty() || path.find_first_of("\r\n") != std::string_view::npos) {
    throw Error::config("search index '" + name_ + "': the index path must be one non-empty line");
  }
  std::string out;
  out += "# Search index '" + name_ + "' for sluice. Once the index exists, searchd keeps its\n";
  out += "# schema in the index files: editing this block changes nothing until they are removed.\n";
  out += "index " + name_ + "\n{\n";
  out += "\ttype = rt\n";
  out += "\tpath = " + std::string(path) + "\n";
  for (const std::string& f : fields_) out += "\trt_field = " + f + "\n";
  for (const IndexAttribute& a : attributes_) out += "\t" + config_line(a) + "\n";
  out += "}\n";
  return out;
}

std::string IndexDefinition::manticore_create_table() const {
  std::string out = "CREATE TABLE " + quote_identifier(name_) + " (";
  bool first = true;
  auto add = [&](const std::string& column) {
    if (!first) out += ", ";
    first = false;
    out += column;
  };
  for (const std::string& f : fields_) {
    const bool also_attribute = std::any_of(attributes_.begin(), attributes_.end(),
                                            [&](const IndexAttribute& a) { return a.name == f; });
    add(quote_identifier(f) + (also_attribute ? " string attribute indexed" : " text"));
  }
  for (const IndexAttribute& a : attributes_) {
    if (std::find(fields_.begin(), fields_.end(), a.name) != fields_.end()) continue;  // declared with its field
    add(quote_identifier(a.name) + " " + std::string(to_string(a.type)));
  }
  out += ")";
  return out;
}

std::vector<DescribedColumn> parse_describe(const SphinxqlConnection::Result& result) {
  int name_at = -1, type_at = -1, properties_at = -1;
  for (size_t i = 0; i < result.columns.size(); ++i) {
    const std::string c = lower(result.columns[i]);
    if (c == "field") name_at = static_cast<int>(i);
    if (c == "type") type_at = static_cast<int>(i);
    if (c == "properties") properties_at = static_cast<int>(i);
  }
  if (name_at < 0 || type_at < 0) {
    throw Error::protocol("DESCRIBE returned no Field and Type columns (" + std::to_string(result.columns.size()) +
                          " columns)");
  }
  std::vector<DescribedColumn> out;
  for (size_t r = 0; r < result.rows.size(); ++r) {
    const SphinxqlConnection::Row& row = result.rows[r];
    auto cell = [&](int at) -> const std::optional<std::string>* {
      return static_cast<size_t>(at) < row.size() ? &row[static_cast<size_t>(at)] : nullptr;
    };
    const auto* name = cell(name_at);
    const auto* type = cell(type_at);
    if (name == nullptr || type == nullptr || !*name || !*type) {
      throw Error::protocol("DESCRIBE row " + std::to_string(r + 1) + " lacks its Field or Type");
    }
    DescribedColumn c{**name, **type, {}};
    if (properties_at >= 0) {
      if (const auto* p = cell(properties_at); p != nullptr && *p) c.properties = **p;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string SchemaProblem::message(std::string_view index) const {
  std::string out = "search index '" + std::string(index) + "': " + name + ": " + problem + "; add `" + config_line +
                    "` to its block in sphinx.conf";
  if (alter) {
    out += ", and on the running index run `" + *alter + "` (searchd reads sphinx.conf only for an index that has no files yet)";
  } else {
    out += " (searchd reads sphinx.conf only for an index that has no files yet: stop searchd, remove the index "
           "files, start it, and let sluice fill the index again)";
  }
  return out;
}

std::vector<SchemaProblem> compare_schema(const IndexDefinition& expected,
                                          const std::vector<DescribedColumn>& described) {
  std::vector<SchemaProblem> problems;
  const std::string quoted_index = quote_identifier(expected.name());

  const DescribedColumn* id = find(described, "id", [](const DescribedColumn&) { return true; });
  if (id == nullptr || id->type != "bigint") {
    problems.push_back({"id",
                        id == nullptr ? "DESCRIBE shows no id" : "document ids are " + id->type + ", sluice needs bigint (a searchd built with 64-bit ids)",
                        "(none: install a searchd built with --enable-id64)", std::nullopt});
  }
  for (const std::string& f : expected.fields()) {
    if (find(described, f, is_field) == nullptr) {
      problems.push_back({f, "missing full-text field", "rt_field = " + f, std::nullopt});
    }
  }
  for (const IndexAttribute& a : expected.attributes()) {
    const DescribedColumn* found = find(described, a.name, is_attribute);
    if (found != nullptr && found->type == to_string(a.type)) continue;
    SchemaProblem p{a.name, "", config_line(a), std::nullopt};
    if (found == nullptr) {
      p.problem = "missing " + std::string(to_string(a.type)) + " attribute";
      if (auto word = alter_type_of(a.type)) {
        p.alter = "ALTER TABLE " + quoted_index + " ADD COLUMN " + quote_identifier(a.name) + " " + std::string(*word);
      }
    } else {
      p.problem = "attribute is " + found->type + ", sluice needs " + std::string(to_string(a.type)) +
                  " (replace its line)";
    }
    problems.push_back(std::move(p));
  }
  return problems;
}

}  // namespace sluice
