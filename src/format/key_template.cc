#include "format/key_template.h"

#include <algorithm>

#include "core/error.h"
#include "format/value_json.h"

namespace sluice {
namespace {

// The columns {pk} stands for: Relation::primary_key in key order; else the
// columns marked in_primary_key, else the replica identity, in column order.
std::vector<size_t> key_column_indexes(const Relation& relation) {
  std::vector<size_t> indexes;
  for (int index : relation.primary_key) {
    if (index < 0 || static_cast<size_t>(index) >= relation.columns.size()) {
      throw Error::internal("table " + relation.qualified_name() + ": primary-key column index " +
                            std::to_string(index) + " is outside its " +
                            std::to_string(relation.columns.size()) + " columns");
    }
    indexes.push_back(static_cast<size_t>(index));
  }
  if (!indexes.empty()) return indexes;
  for (size_t i = 0; i < relation.columns.size(); ++i) {
    if (relation.columns[i].in_primary_key) indexes.push_back(i);
  }
  if (!indexes.empty()) return indexes;
  for (size_t i = 0; i < relation.columns.size(); ++i) {
    if (relation.columns[i].in_identity) indexes.push_back(i);
  }
  return indexes;
}

// A placeholder's value as it appears in a key: '\' becomes "\\" and ':' becomes
// "\:" (the header says why this keeps keys injective).
void append_key_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == ':') out.push_back('\\');
    out.push_back(c);
  }
}

std::string key_value(std::string_view value) {
  std::string out;
  append_key_value(out, value);
  return out;
}

// Redis glob metacharacters (stringmatchlen in Redis src/util.c): * ? [ ] and the
// escape character itself. '^' and '-' only mean something inside brackets.
void append_glob_literal(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
}

}  // namespace

std::string KeyTemplate::error_prefix() const {
  std::string prefix;
  if (!where_.empty()) prefix = where_ + ": ";
  return prefix + "key template '" + text_ + "': ";
}

KeyTemplate KeyTemplate::parse(std::string_view text, std::string_view where) {
  KeyTemplate tmpl;
  tmpl.text_ = std::string(text);
  tmpl.where_ = std::string(where);
  if (text.empty()) throw Error::config(tmpl.error_prefix() + "is empty");

  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    tmpl.parts_.push_back({Part::kLiteral, std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal.push_back('}');
        ++i;
        continue;
      }
      throw Error::config(tmpl.error_prefix() + "unmatched '}' at offset " + std::to_string(i) +
                          " (write '}}' for a literal brace)");
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      continue;
    }
    const size_t close = text.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || text[close] != '}') {
      throw Error::config(tmpl.error_prefix() + "unclosed '{' at offset " + std::to_string(i) +
                          " (write '{{' for a literal brace)");
    }
    std::string_view name = text.substr(i + 1, close - i - 1);
    if (name.empty()) {
      throw Error::config(tmpl.error_prefix() + "empty placeholder at offset " +
                          std::to_string(i));
    }
    flush_literal();
    if (name == "schema") {
      tmpl.parts_.push_back({Part::kSchema, {}});
    } else if (name == "table") {
      tmpl.parts_.push_back({Part::kTable, {}});
    } else if (name == "pk") {
      tmpl.parts_.push_back({Part::kPk, {}});
    } else {
      tmpl.parts_.push_back({Part::kColumn, std::string(name)});
    }
    i = close;
  }
  flush_literal();
  return tmpl;
}

bool KeyTemplate::uses_pk() const {
  return std::any_of(parts_.begin(), parts_.end(),
                     [](const Part& part) { return part.kind == Part::kPk; });
}

std::optional<std::string> KeyTemplate::ambiguity() const {
  auto placeholder = [](const Part& part) {
    return part.kind == Part::kPk ? std::string("{pk}") : "{" + part.text + "}";
  };
  for (const Part& part : parts_) {
    if (part.kind == Part::kLiteral && part.text.find('\\') != std::string::npos) {
      return error_prefix() + "the literal '\\' could pair with the '\\' that escapes ':' and '\\' " +
             "in values, so two rows could share a key; remove it";
    }
  }
  // The last row-varying placeholder seen, and whether a ':' came after it.
  const Part* previous = nullptr;
  bool separated = false;
  for (const Part& part : parts_) {
    if (part.kind == Part::kLiteral) {
      if (part.text.find(':') != std::string::npos) separated = true;
      continue;
    }
    if (part.kind != Part::kPk && part.kind != Part::kColumn) continue;  // fixed per table
    if (previous != nullptr && !separated) {
      const std::string a = placeholder(*previous);
      const std::string b = placeholder(part);
      return error_prefix() + a + " and " + b +
             " are not separated by ':' so two rows could share a key; write e.g. '" + a + ":" + b + "'";
    }
    previous = &part;
    separated = false;
  }
  return std::nullopt;
}

void KeyTemplate::check(const Relation& relation) const {
  for (const Part& part : parts_) {
    if (part.kind == Part::kColumn && relation.column_index(part.text) < 0) {
      throw Error::config(error_prefix() + "table " + relation.qualified_name() +
                          " has no column '" + part.text + "'");
    }
    if (part.kind == Part::kPk && key_column_indexes(relation).empty()) {
      throw Error::config(error_prefix() + "{pk}: table " + relation.qualified_name() +
                          " has no primary-key or replica-identity columns");
    }
  }
}

std::vector<std::string> KeyTemplate::columns(const Relation& relation) const {
  check(relation);
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  for (const Part& part : parts_) {
    if (part.kind == Part::kColumn) add(part.text);
    if (part.kind == Part::kPk) {
      for (size_t index : key_column_indexes(relation)) add(relation.columns[index].name);
    }
  }
  return names;
}

std::string KeyTemplate::render(const Relation& relation, const std::vector<Value>& values) const {
  if (values.size() != relation.columns.size()) {
    throw Error::invalid_input(error_prefix() + relation.qualified_name() + ": " +
                               std::to_string(values.size()) + " values for " +
                               std::to_string(relation.columns.size()) + " columns");
  }
  auto append_value = [&](std::string& out, size_t index) {
    const Column& column = relation.columns[index];
    const Value& value = values[index];
    const std::string where = relation.qualified_name() + "." + column.name;
    if (value.is_null()) {
      throw Error::invalid_input(error_prefix() + where + " is null; a key cannot contain null");
    }
    if (value.is_unchanged_toast()) {
      throw Error::invalid_input(error_prefix() + where +
                                 " is an unchanged TOAST value the server did not send");
    }
    TypeInfoPtr type = resolve_column_type(relation, column);
    try {
      append_key_value(out, value_to_field(*type, value.text));
    } catch (const Error& e) {
      throw Error(e.kind(), error_prefix() + where + ": " + e.what());
    }
  };

  std::string key;
  for (const Part& part : parts_) {
    switch (part.kind) {
      case Part::kLiteral:
        key += part.text;
        break;
      case Part::kSchema:
        append_key_value(key, relation.schema);
        break;
      case Part::kTable:
        append_key_value(key, relation.name);
        break;
      case Part::kColumn: {
        const int index = relation.column_index(part.text);
        if (index < 0) check(relation);  // throws the config error naming the column
        append_value(key, static_cast<size_t>(index));
        break;
      }
      case Part::kPk: {
        const std::vector<size_t> indexes = key_column_indexes(relation);
        if (indexes.empty()) check(relation);  // throws
        for (size_t i = 0; i < indexes.size(); ++i) {
          if (i > 0) key.push_back(':');  // the separator, never escaped
          append_value(key, indexes[i]);
        }
        break;
      }
    }
  }
  return key;
}

std::string KeyTemplate::glob(const Relation& relation) const {
  std::string pattern;
  bool ends_with_star = false;  // an unescaped '*' from a placeholder
  for (const Part& part : parts_) {
    const bool placeholder = part.kind == Part::kColumn || part.kind == Part::kPk;
    // One '*' stands for any run of values, so "{a}{b}" needs only one.
    if (placeholder && ends_with_star) continue;
    ends_with_star = placeholder;
    switch (part.kind) {
      case Part::kLiteral:
        append_glob_literal(pattern, part.text);
        break;
      // As render() writes them, so "a:b" matches the key's "a\:b" (glob "a\\:b").
      case Part::kSchema:
        append_glob_literal(pattern, key_value(relation.schema));
        break;
      case Part::kTable:
        append_glob_literal(pattern, key_value(relation.name));
        break;
      case Part::kColumn:
      case Part::kPk:
        pattern.push_back('*');
        break;
    }
  }
  return pattern;
}

std::string KeyTemplate::fixed_prefix(const Relation& relation) const {
  std::string prefix;
  for (const Part& part : parts_) {
    switch (part.kind) {
      case Part::kLiteral:
        prefix += part.text;
        break;
      case Part::kSchema:
        append_key_value(prefix, relation.schema);
        break;
      case Part::kTable:
        append_key_value(prefix, relation.name);
        break;
      case Part::kColumn:
      case Part::kPk:
        return prefix;
    }
  }
  return prefix;
}

std::string KeyTemplate::prefix_glob(const Relation& relation) const {
  std::string pattern;
  append_glob_literal(pattern, fixed_prefix(relation));
  return pattern + "*";
}

namespace {

// One piece of a template flattened for match(): fixed text, or the escaped
// value of column `column` (an index into KeyTemplate::columns()).
struct Piece {
  std::string text;
  int column = -1;
};

// Matches `pieces[i..]` against `key[at..]`, filling `values`; backtracks over
// where each value ends. A value never holds a bare ':' or a lone '\', so it
// ends at the latest at the next bare ':' and the search stays short.
bool match_pieces(const std::vector<Piece>& pieces, size_t i, std::string_view key, size_t at,
                  std::vector<std::optional<std::string>>& values) {
  if (i == pieces.size()) return at == key.size();
  const Piece& piece = pieces[i];
  if (piece.column < 0) {
    if (key.substr(at, piece.text.size()) != piece.text) return false;
    return match_pieces(pieces, i + 1, key, at + piece.text.size(), values);
  }
  std::optional<std::string>& slot = values[static_cast<size_t>(piece.column)];
  const bool bound = slot.has_value();
  std::string value;
  for (size_t end = at;; ) {
    // `value` is key[at..end) unescaped: try ending the value here.
    if (!bound || *slot == value) {
      if (!bound) slot = value;
      if (match_pieces(pieces, i + 1, key, end, values)) return true;
      if (!bound) slot.reset();
    }
    if (end == key.size() || key[end] == ':') return false;
    if (key[end] == '\\') {
      if (end + 1 == key.size() || (key[end + 1] != '\\' && key[end + 1] != ':')) return false;
      value.push_back(key[end + 1]);
      end += 2;
    } else {
      value.push_back(key[end]);
      end += 1;
    }
  }
}

}  // namespace

std::optional<std::vector<std::string>> KeyTemplate::match(const Relation& relation, std::string_view key) const {
  if (auto why = ambiguity()) throw Error::config(*why);
  const std::vector<std::string> names = columns(relation);
  auto column_of = [&](const std::string& name) {
    return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  std::vector<Piece> pieces;
  auto add_text = [&](std::string text) {
    if (!pieces.empty() && pieces.back().column < 0) {
      pieces.back().text += text;
    } else {
      pieces.push_back({std::move(text), -1});
    }
  };
  for (const Part& part : parts_) {
    switch (part.kind) {
      case Part::kLiteral: add_text(part.text); break;
      case Part::kSchema: add_text(key_value(relation.schema)); break;
      case Part::kTable: add_text(key_value(relation.name)); break;
      case Part::kColumn: pieces.push_back({{}, column_of(part.text)}); break;
      case Part::kPk: {
        const std::vector<size_t> indexes = key_column_indexes(relation);
        for (size_t i = 0; i < indexes.size(); ++i) {
          if (i > 0) add_text(":");
          pieces.push_back({{}, column_of(relation.columns[indexes[i]].name)});
        }
        break;
      }
    }
  }
  std::vector<std::optional<std::string>> values(names.size());
  if (!match_pieces(pieces, 0, key, 0, values)) return std::nullopt;
  std::vector<std::string> out;
  for (auto& value : values) out.push_back(std::move(*value));
  return out;
}

}  // namespace sluice
