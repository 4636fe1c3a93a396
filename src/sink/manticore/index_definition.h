// The shape of a search index sluice writes to: its full-text fields, the
// attributes of the routed columns, and the reserved attributes sluice needs in
// every index. From it: the sphinx.conf block to paste (Sphinx 2.2 RT index), the
// Manticore CREATE TABLE statement, and the check of a live index's DESCRIBE.
//
// Reserved attributes (all rt_attr_string), present in every index:
//   _sluice_version     the Position::encode() of the change that wrote the
//                       document ("00000016B374D848:0000002A": fixed-width
//                       upper-case hex, so string order is position order and
//                       a filter `_sluice_version < '...'` compares positions);
//                       a document is never replaced by an older version.
//   _sluice_identity    the row's identity (document_id.h): tells a hash
//                       collision from a second write of the same row.
//   _sluice_digest      a digest of the document's full-text fields: Sphinx 2.2
//                       cannot return a field's text, so this is how a check
//                       compares them.
//   _sluice_checkpoint  set only on the one checkpoint document of the index
//                       (document_id.h: kCheckpointDocumentId); '' elsewhere.
//
// Names: fields and attributes are SphinxQL identifiers ([A-Za-z_][A-Za-z0-9_]*),
// kept in lower case (searchd lower-cases the names in sphinx.conf and compares
// them without case). `id` is the document id and cannot be an attribute;
// names starting with `_sluice_` are reserved. A field may also be an attribute
// only when that attribute is a string (Sphinx 2.2 takes `rt_field = title` with
// `rt_attr_string = title`: searchable and returned).
//
// Schema changes in Sphinx 2.2 (observed here): an RT index's schema lives in its
// own files once it exists; editing sphinx.conf changes nothing until the index
// files are removed (searchd stopped), and says nothing about it. A live index
// takes new attributes through ALTER TABLE ... ADD COLUMN (types INTEGER, BIGINT,
// FLOAT, BOOL, STRING, JSON: no TIMESTAMP) and never new fields.
//
// IndexDefinition is immutable after construction; all functions are pure and
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sink/manticore/attribute_types.h"
#include "sink/manticore/sphinxql_connection.h"

namespace sluice {

inline constexpr std::string_view kVersionAttribute = "_sluice_version";
inline constexpr std::string_view kIdentityAttribute = "_sluice_identity";
inline constexpr std::string_view kDigestAttribute = "_sluice_digest";
inline constexpr std::string_view kCheckpointAttribute = "_sluice_checkpoint";

struct IndexAttribute {
  std::string name;
  AttributeType type = AttributeType::kString;
  bool operator==(const IndexAttribute&) const = default;
};

// The attribute or field name of a column: its name in lower case. Throws
// Error::config naming the column when it is not a SphinxQL identifier.
std::string search_name_of(std::string_view column_name);

class IndexDefinition {
 public:
  // `fields`: the full-text fields (at least one: searchd refuses an RT index
  // without); `attributes`: the routed columns' attributes, without the reserved
  // ones. Names are lower-cased. Throws Error::config("search index 'NAME': ...")
  // on a bad or duplicate name, a reserved one, or a field sharing its name with
  // an attribute that is not a string.
  IndexDefinition(std::string name, std::vector<std::string> fields, std::vector<IndexAttribute> attributes);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& fields() const { return fields_; }
  // The routed attributes in the order given, then the four reserved ones.
  const std::vector<IndexAttribute>& attributes() const { return attributes_; }

  // The complete `index NAME { ... }` block for sphinx.conf; `path` is the
  // index's file prefix (e.g. /var/lib/sphinxsearch/data/NAME). Throws
  // Error::config when path is empty or has a newline.
  std::string sphinx_conf_block(std::string_view path) const;
  // CREATE TABLE NAME (title text, price bigint, ...) for Manticore's RT mode. A
  // field that is also an attribute is `NAME string attribute indexed`. (Only
  // Sphinx 2.2 is installed here: this statement is not run by the tests.)
  std::string manticore_create_table() const;

 private:
  std::string name_;
  std::vector<std::string> fields_;
  std::vector<IndexAttribute> attributes_;
};

// The sphinx.conf directive for an attribute: "rt_attr_bigint = price".
std::string config_line(const IndexAttribute& attribute);

// One row of DESCRIBE: Sphinx 2.2 prints two columns, Field and Type, a row per
// field ("title", "field") and per attribute ("price", "bigint"; types uint,
// bigint, float, timestamp, bool, string, json, mva, mva64), "id" first.
// Manticore adds a third column, Properties, and calls a field "text".
struct DescribedColumn {
  std::string name;
  std::string type;
  std::string properties;  // "" in Sphinx 2.2
};
// Throws Error::protocol when the result has no Field and Type columns or a row
// lacks them.
std::vector<DescribedColumn> parse_describe(const SphinxqlConnection::Result& result);

struct SchemaProblem {
  std::string name;         // the field or attribute
  std::string problem;      // "missing attribute", "attribute is uint, sluice needs bigint", ...
  std::string config_line;  // the exact sphinx.conf line to add ("rt_attr_bigint = price")
  std::optional<std::string> alter;  // the statement that fixes the live index, when Sphinx 2.2 has one
  // One sentence for a person: what is wrong and what to do.
  std::string message(std::string_view index) const;
};

// What the live index (its DESCRIBE) lacks for `expected`, in the order of
// expected's fields then attributes. Extra fields and attributes are not
// problems (sluice leaves them at their defaults).
std::vector<SchemaProblem> compare_schema(const IndexDefinition& expected,
                                          const std::vector<DescribedColumn>& described);

}  // namespace sluice
