// Key templates: "{table}:{pk}", "m:{channel_id}:{media_id}".
// Placeholders: {schema}, {table} (bare name), {pk} (primary-key values in key
// order joined by ':'), or any column name. "{{" and "}}" are literal braces.
// Parsing is pure; binding to a relation checks that every column exists.
//
// {pk} means the columns with Column::in_primary_key, in column order; a table
// without primary-key columns uses its replica-identity columns instead. The names
// schema, table and pk are reserved: a column called "pk" cannot be a placeholder.
// Values appear in their value_to_field() form (format/value_json.h).
// A KeyTemplate is immutable after parse() and safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"

namespace sluice {

class KeyTemplate {
 public:
  // Throws Error::config("key template '...': ...") on unbalanced braces or an
  // empty placeholder. `where` (e.g. "sluice.toml:12: sinks[0].key") prefixes messages.
  static KeyTemplate parse(std::string_view text, std::string_view where = {});

  const std::string& text() const { return text_; }
  // Column names used by the template ({pk} expands to the primary-key columns),
  // each once, in order of first use. Throws like check() when {pk} is used and
  // the relation has no key columns.
  std::vector<std::string> columns(const Relation& relation) const;
  bool uses_pk() const;

  // Checks every referenced column exists in `relation` (and that it has a primary
  // key if {pk} is used). Throws Error::config naming template, table and column.
  void check(const Relation& relation) const;

  // Renders the key for a row. `values` is indexed like relation.columns.
  // Throws Error::invalid_input when a referenced value is null or unchanged TOAST
  // (names the table, column and template).
  std::string render(const Relation& relation, const std::vector<Value>& values) const;

  // A Redis glob matching every key this template can produce for `relation`
  // (literal parts escaped, placeholders of columns as '*').
  std::string glob(const Relation& relation) const;

 private:
  struct Part {
    enum Kind { kLiteral, kSchema, kTable, kPk, kColumn } kind;
    std::string text;  // literal text or column name
  };
  // "where: key template '...': " for error messages.
  std::string error_prefix() const;

  std::string text_;
  std::string where_;
  std::vector<Part> parts_;
};

}  // namespace sluice
