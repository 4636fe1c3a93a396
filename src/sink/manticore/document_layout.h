// How the rows of one table become documents of its search index: which routed
// columns are full-text fields, which are attributes (and of what type), the
// column list of every REPLACE, the literals of one row, and the canonical form
// `sluice verify` compares (docs/configuration.md, "Search sinks").
//
// A routed column (core/column_selection.h) named in `fields` is a full-text
// field; when the live index also has a string attribute of that name (Sphinx 2.2:
// `rt_field = title` plus `rt_attr_string = title`), one value fills both and the
// text can be read back. Every other routed column is an attribute typed by
// attribute_types.h. Each document also holds the reserved attributes of
// index_definition.h: its version, identity, the digest of its fields, and '' as
// _sluice_checkpoint.
//
// The digest is FNV-1a 64 (document_id.h) over the fields' values in field order,
// each as core/identity.h's "<length>:<bytes>" part, a NULL as "-": 16 lower-case
// hex digits. It tells `verify` whether the fields hold what the row says, since
// Sphinx 2.2 cannot return a field's text.
//
// Immutable after construction; thread-safe to read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "core/position.h"
#include "sink/manticore/attribute_types.h"
#include "sink/manticore/document_id.h"
#include "sink/manticore/index_definition.h"

namespace sluice {

struct DocumentColumn {
  int index = 0;                           // into relation->columns
  std::string name;                        // as searchd names it (lower case)
  bool field = false;                      // a full-text field
  std::optional<AttributeType> attribute;  // stored as this attribute (a field: only a string one)
  TypeInfoPtr type;                        // the column's resolved type
};

// A stored document as read back: attribute name -> text (nullopt for searchd's NULL).
using StoredDocument = std::vector<std::pair<std::string, std::optional<std::string>>>;

class DocumentLayout {
 public:
  // `fields` and `selected` (column indexes, core/column_selection.h) come from the
  // sink's [[sinks.tables]] entry; `described` is the live index's DESCRIBE (empty:
  // fields are not also attributes). Throws Error::config naming the table when a
  // field is not a routed column, or a name is not a SphinxQL identifier.
  DocumentLayout(RelationPtr relation, std::string index, const std::vector<std::string>& fields,
                 const std::vector<int>& selected, const std::vector<DescribedColumn>& described);

  const RelationPtr& relation() const { return relation_; }
  const std::string& index() const { return index_; }
  const std::string& table() const { return table_; }
  const std::vector<DocumentColumn>& columns() const { return columns_; }
  const std::vector<int>& key_columns() const { return key_columns_; }

  // What the index must have for these documents (index_definition.h). With
  // `store_fields`, every field is also a string attribute (the block sluice
  // suggests: the text can then be read back, so an unchanged TOAST value is kept
  // and verify compares the text itself); without, only the fields the live index
  // already stores are (what the check requires).
  IndexDefinition definition(bool store_fields = false) const;

  // "id, title, body, price, ..., _sluice_version, _sluice_identity, _sluice_digest, _sluice_checkpoint"
  const std::string& column_list() const { return column_list_; }
  // The attributes a TOAST lookup reads back: every stored attribute, comma-separated.
  const std::string& stored_list() const { return stored_list_; }

  // Whether column `i` (into relation->columns) is in the document, and how.
  const DocumentColumn* column_at(int i) const;

  // The stored texts of a row's unchanged TOAST values, by column index (into
  // relation->columns; nullopt where a value is not restored).
  using Restored = std::vector<std::optional<std::string>>;

  // "(id, 'title', ..., 'version', 'identity', 'digest', '')" for the row
  // `values`, whose unchanged TOAST values are taken from `restored` (the text
  // stored_text() read back). Throws as attribute_types.h says; Error::internal
  // for an unchanged TOAST value not restored.
  std::string row_literal(const DocumentId& id, const std::vector<Value>& values, const Position& version,
                          const Restored& restored = {}) const;

  // The canonical text of the document the full row `values` gives (verify).
  std::string canonical_of_row(const DocumentId& id, const std::vector<Value>& values) const;
  // The canonical text of a stored document (its attributes by name, the
  // reserved ones included). Error::protocol when one of the layout's is missing.
  std::string canonical_of_stored(const StoredDocument& stored) const;

  // The stored text of column `i` (into relation->columns) in a document read
  // back, to keep an unchanged TOAST value: nullopt when the column is not stored
  // (a field that is not also an attribute) or the document lacks it.
  std::optional<std::string> stored_text(int i, const StoredDocument& stored) const;

  // "schema.table.column" for messages.
  std::string where(const DocumentColumn& column) const;

 private:
  std::string digest_of(const std::vector<Value>& values, const Restored& restored) const;

  RelationPtr relation_;
  std::string index_;
  std::string table_;
  std::vector<DocumentColumn> columns_;
  std::vector<int> key_columns_;
  std::string column_list_;
  std::string stored_list_;
};

// The canonical text of an attribute value as searchd returns it, or as sluice
// writes it (`literal`: the SphinxQL literal of append_attribute_literal): equal
// exactly when searchd holds the same value.
std::string canonical_attribute(AttributeType type, std::string_view text);
std::string canonical_attribute_of_literal(AttributeType type, std::string_view literal);

// The inverse of sphinxql_literal.h's append_quoted: the text of a '...' literal.
std::string unquote_literal(std::string_view literal);

}  // namespace sluice
