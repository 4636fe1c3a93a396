#include "sink/manticore/document_layout.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/identity.h"
#include "format/value_json.h"
#include "sink/manticore/sphinxql_literal.h"

namespace sluice {
namespace {

bool described_as_string(const std::vector<DescribedColumn>& described, const std::string& name) {
  return std::any_of(described.begin(), described.end(),
                     [&](const DescribedColumn& c) { return c.name == name && c.type == "string"; });
}

// Numbers as searchd keeps them inside a json attribute: integers clamped to
// int64, everything else float32.
void normalise_json_numbers(nlohmann::json& value) {
  if (value.is_object() || value.is_array()) {
    for (auto& item : value) normalise_json_numbers(item);
  } else if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) value = std::numeric_limits<int64_t>::max();
  } else if (value.is_number_float()) {
    value = static_cast<double>(static_cast<float>(value.get<double>()));
  }
}

// The literal of a value searchd printed (a kept unchanged TOAST value): strings
// and json as their text; numbers as printed, which searchd reads back alike.
void append_restored_literal(std::string& out, const DocumentColumn& c, std::string_view text) {
  if (!c.attribute || *c.attribute == AttributeType::kString || *c.attribute == AttributeType::kJson) {
    append_quoted(out, text);
    return;
  }
  const bool numeric = !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E';
  });
  if (!numeric) throw Error::protocol("searchd returned '" + std::string(text) + "' for attribute " + c.name);
  out.append(text);
}

}  // namespace

std::string unquote_literal(std::string_view literal) {
  if (literal.size() < 2 || literal.front() != '\'' || literal.back() != '\'') return std::string(literal);
  std::string out;
  out.reserve(literal.size() - 2);
  for (size_t i = 1; i + 1 < literal.size(); ++i) {
    if (literal[i] == '\\' && i + 2 < literal.size()) ++i;
    out.push_back(literal[i]);
  }
  return out;
}

std::string canonical_attribute(AttributeType type, std::string_view text) {
  switch (type) {
    case AttributeType::kFloat: {
      const std::string copy(text);
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%f", static_cast<double>(std::strtof(copy.c_str(), nullptr)));
      return buffer;
    }
    case AttributeType::kJson: {
      auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) return "invalid json: " + std::string(text);
      normalise_json_numbers(parsed);
      return parsed.dump();
    }
    case AttributeType::kBigint:
    case AttributeType::kBool:
    case AttributeType::kTimestamp:
    case AttributeType::kString:
      return std::string(text);
  }
  return std::string(text);
}

std::string canonical_attribute_of_literal(AttributeType type, std::string_view literal) {
  return canonical_attribute(type, unquote_literal(literal));
}

DocumentLayout::DocumentLayout(RelationPtr relation, std::string index, const std::vector<std::string>& fields,
                               const std::vector<int>& selected, const std::vector<DescribedColumn>& described)
    : relation_(std::move(relation)), index_(std::move(index)) {
  if (!relation_) throw Error::internal("search index '" + index_ + "': a layout without its relation");
  table_ = relation_->qualified_name();
  key_columns_ = document_key_columns(*relation_);
  for (const std::string& field : fields) {
    const int i = relation_->column_index(field);
    if (i < 0 || std::find(selected.begin(), selected.end(), i) == selected.end()) {
      throw Error::config(fmt::format("table {}: field '{}' is not one of the columns routed to index '{}'", table_,
                                      field, index_));
    }
  }
  // A one-integer-column key is the document id itself: a key column named id is
  // that, not an attribute (searchd's `id` is the document id).
  const bool id_is_key = key_columns_.size() == 1 && document_id_is_key_value(*relation_);
  for (int i : selected) {
    const Column& column = relation_->columns.at(static_cast<size_t>(i));
    if (column.name == "id" || column.name == "ID") {
      if (id_is_key && key_columns_.front() == i) continue;
      throw Error::config(fmt::format(
          "table {}: column '{}' cannot be an attribute: id is the document id in every index (only a one-column "
          "integer primary key named id is); leave it out with exclude_columns",
          table_, column.name));
    }
    DocumentColumn c;
    c.index = i;
    try {
      c.name = search_name_of(column.name);
    } catch (const Error& e) {
      throw Error::config(fmt::format("table {}: {}", table_, e.what()));
    }
    c.type = resolve_column_type(*relation_, column);
    c.field = std::find(fields.begin(), fields.end(), column.name) != fields.end();
    if (!c.field) {
      c.attribute = attribute_type_of(*c.type);
    } else if (described_as_string(described, c.name)) {
      c.attribute = AttributeType::kString;
    }
    columns_.push_back(std::move(c));
  }
  // Fields first, then attributes, as in DESCRIBE; a field that is also an
  // attribute is named once (one value fills both).
  std::vector<std::string> names{"id"};
  std::vector<std::string> stored{"id", std::string(kVersionAttribute), std::string(kIdentityAttribute)};
  for (const auto& c : columns_) {
    if (c.field) names.push_back(c.name);
  }
  for (const auto& c : columns_) {
    if (!c.field) names.push_back(c.name);
    if (c.attribute) stored.push_back(c.name);
  }
  for (std::string_view reserved : {kVersionAttribute, kIdentityAttribute, kDigestAttribute, kCheckpointAttribute}) {
    names.emplace_back(reserved);
  }
  stored.emplace_back(kDigestAttribute);
  std::vector<std::string> quoted;
  for (const auto& n : names) quoted.push_back(n == "id" ? n : quote_identifier(n));
  column_list_ = fmt::format("{}", fmt::join(quoted, ", "));
  quoted.clear();
  for (const auto& n : stored) quoted.push_back(n == "id" ? n : quote_identifier(n));
  stored_list_ = fmt::format("{}", fmt::join(quoted, ", "));
}

IndexDefinition DocumentLayout::definition(bool store_fields) const {
  std::vector<std::string> fields;
  std::vector<IndexAttribute> attributes;
  for (const auto& c : columns_) {
    if (c.field) {
      fields.push_back(c.name);
      if (c.attribute || store_fields) attributes.push_back({c.name, AttributeType::kString});
    } else {
      attributes.push_back({c.name, *c.attribute});
    }
  }
  return IndexDefinition(index_, fields, attributes);
}

const DocumentColumn* DocumentLayout::column_at(int i) const {
  for (const auto& c : columns_) {
    if (c.index == i) return &c;
  }
  return nullptr;
}

std::string DocumentLayout::where(const DocumentColumn& column) const {
  return table_ + "." + relation_->columns.at(static_cast<size_t>(column.index)).name;
}

std::string DocumentLayout::digest_of(const std::vector<Value>& values, const Restored& restored) const {
  std::string parts;
  for (const auto& c : columns_) {
    if (!c.field) continue;
    const size_t i = static_cast<size_t>(c.index);
    const Value& v = values.at(i);
    if (v.is_unchanged_toast() && i < restored.size() && restored[i]) {
      append_identity_part(parts, *restored[i]);
    } else if (v.is_text()) {
      append_identity_part(parts, v.text);
    } else {
      parts += '-';
    }
  }
  return fmt::format("{:016x}", fnv1a64(parts));
}

std::string DocumentLayout::row_literal(const DocumentId& id, const std::vector<Value>& values,
                                        const Position& version, const Restored& restored) const {
  std::string out = "(" + std::to_string(id.id);
  auto append_field = [&](const DocumentColumn& c) {
    const size_t i = static_cast<size_t>(c.index);
    const Value& v = values.at(i);
    out += ", ";
    if (v.is_unchanged_toast() && i < restored.size() && restored[i]) {
      append_restored_literal(out, c, *restored[i]);
    } else if (c.attribute) {
      append_attribute_literal(out, *c.attribute, *c.type, v, where(c));
    } else if (v.is_text()) {
      try {
        append_quoted(out, v.text);
      } catch (const Error& e) {
        throw Error(e.kind(), where(c) + ": " + e.what());
      }
    } else if (v.is_null()) {
      out += "''";
    } else {
      throw Error::internal(where(c) + ": an unchanged TOAST value has no literal; the stored value must be supplied");
    }
  };
  for (const auto& c : columns_) {
    if (c.field) append_field(c);
  }
  for (const auto& c : columns_) {
    if (!c.field) append_field(c);
  }
  out += ", ";
  append_quoted(out, version.encode());
  out += ", ";
  append_quoted(out, id.identity);
  out += ", ";
  append_quoted(out, digest_of(values, restored));
  out += ", '')";
  return out;
}

std::string DocumentLayout::canonical_of_row(const DocumentId& id, const std::vector<Value>& values) const {
  std::string out = "id=" + std::to_string(id.id);
  for (const auto& c : columns_) {
    if (!c.attribute) continue;
    const std::string literal =
        attribute_literal(*c.attribute, *c.type, values.at(static_cast<size_t>(c.index)), where(c));
    out += '\x1e' + c.name + '=' + canonical_attribute_of_literal(*c.attribute, literal);
  }
  out += '\x1e' + std::string(kIdentityAttribute) + '=' + id.identity;
  out += '\x1e' + std::string(kDigestAttribute) + '=' + digest_of(values, {});
  return out;
}

std::string DocumentLayout::canonical_of_stored(const StoredDocument& stored) const {
  auto find = [&](std::string_view name) -> std::string {
    for (const auto& [n, v] : stored) {
      if (n == name) return v.value_or(std::string());
    }
    throw Error::protocol(fmt::format("search index '{}': a stored document has no '{}' attribute", index_, name));
  };
  std::string out = "id=" + find("id");
  for (const auto& c : columns_) {
    if (!c.attribute) continue;
    std::string text = find(c.name);
    if (*c.attribute == AttributeType::kJson && text.empty()) text = "{}";  // searchd's NULL for an empty json
    out += '\x1e' + c.name + '=' + canonical_attribute(*c.attribute, text);
  }
  out += '\x1e' + std::string(kIdentityAttribute) + '=' + find(kIdentityAttribute);
  out += '\x1e' + std::string(kDigestAttribute) + '=' + find(kDigestAttribute);
  return out;
}

std::optional<std::string> DocumentLayout::stored_text(int i, const StoredDocument& stored) const {
  const DocumentColumn* c = column_at(i);
  if (c == nullptr || !c->attribute) return std::nullopt;
  for (const auto& [n, v] : stored) {
    if (n == c->name) return v.value_or(*c->attribute == AttributeType::kJson ? "{}" : "");
  }
  return std::nullopt;
}

}  // namespace sluice
