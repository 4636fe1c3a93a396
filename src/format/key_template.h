// Key templates: "{table}:{pk}", "m:{channel_id}:{media_id}".
// Placeholders: {schema}, {table} (bare name), {pk} (primary-key values in key
// order joined by ':'), or any column name. "{{" and "}}" are literal braces.
// Parsing is pure; binding to a relation checks that every column exists.
//
// {pk} means Relation::primary_key, in the key's own order (pg_index.indkey, which
// may differ from column order). A Relation without it (built by hand) uses the
// columns with Column::in_primary_key in column order, and a table without
// primary-key columns its replica-identity columns. The names schema, table and pk
// are reserved: a column called "pk" cannot be a placeholder.
//
// Escaping (issue 12, "one row, one key"). Every value put in for a placeholder —
// {schema}, {table}, each value of {pk}, each {column} — appears in its
// value_to_field() form (format/value_json.h) with '\' written as "\\" and ':' as
// "\:"; nothing else changes, so "user_account:42" stays what it was. The ':'
// between the values of {pk} is not escaped. Why this makes keys injective: read
// left to right, an escaped value has no ':' that is not preceded by its own '\',
// so every bare ':' in a key belongs to the template's literal text or to a {pk}
// separator. When ambiguity() is nullopt, each stretch between two row-varying
// values holds such a ':' at a fixed offset and no '\', so the key splits back
// into its values in exactly one way, and unescaping each gives them back.
// Example: primary key (a, b) = ('x:y', 'z') and ('x', 'y:z') under "kk:{pk}" give
// "kk:x\:y:z" and "kk:x:y\:z", not "kk:x:y:z" twice.
//
// A KeyTemplate is immutable after parse() and safe to share between threads.
#pragma once

#include <optional>
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
  // Column names used by the template ({pk} expands to the primary-key columns in
  // key order), each once, in order of first use. Throws like check() when {pk} is
  // used and the relation has no key columns.
  std::vector<std::string> columns(const Relation& relation) const;
  bool uses_pk() const;

  // Checks every referenced column exists in `relation` (and that it has a primary
  // key if {pk} is used). Throws Error::config naming template, table and column.
  void check(const Relation& relation) const;

  // Why two rows could render to one key even with the escaping above, or nullopt
  // when they cannot: distinct values of the row-varying placeholders ({pk} and
  // {column}; {schema} and {table} are fixed per table) then always give distinct
  // keys. The reasons, each named with the template text:
  //   - two consecutive row-varying placeholders whose literal text between them
  //     has no ':' ("{a}-{b}", "{a}{b}": 'x-' + 'y' and 'x' + '-y' meet);
  //   - a '\' in the literal text (it could pair with an escaped value's '\').
  // A pure function of the parsed template. It does not say whether the values
  // identify a row (a template may name non-key columns, or none): that needs the
  // relation and is the caller's question. The callers (preflight, the Redis sink)
  // refuse a template with a reason in upsert mode only.
  std::optional<std::string> ambiguity() const;

  // Renders the key for a row, values escaped as above. `values` is indexed like
  // relation.columns. Throws Error::invalid_input when a referenced value is null
  // or unchanged TOAST (names the table, column and template).
  std::string render(const Relation& relation, const std::vector<Value>& values) const;

  // A Redis glob matching every key this template can produce for `relation`
  // (literal parts and the escaped {schema} and {table} with Redis' glob
  // metacharacters escaped, placeholders of columns as '*').
  std::string glob(const Relation& relation) const;

  // The fixed prefix of every key this template produces for `relation`: the
  // literal text and the escaped {schema} and {table} before the first
  // row-varying placeholder ({pk} or a column), as render() writes them. Empty
  // when the template starts with a row-varying placeholder ("{pk}",
  // "{name}:{id}"). The whole key when the template has no row-varying
  // placeholder. Every key render() gives starts with it.
  std::string fixed_prefix(const Relation& relation) const;
  // A Redis glob matching every key that starts with fixed_prefix() (its glob
  // metacharacters escaped, then '*'); "*" when the prefix is empty.
  std::string prefix_glob(const Relation& relation) const;

  // Reads `key` back into the values render() would have put in (the inverse of
  // render(), by the escaping rules above): for each column the template reads
  // ({pk} expanded), in columns() order, its value_to_field() text, unescaped.
  // nullopt when no values render to `key` (wrong literal text, an unescaped
  // ':' or a lone '\' inside a value, a column used twice with two values).
  // Throws Error::config when ambiguity() is not nullopt (the answer would not
  // be unique) and like check() when a column is missing from `relation`.
  std::optional<std::vector<std::string>> match(const Relation& relation, std::string_view key) const;

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
