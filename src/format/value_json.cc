#include "format/value_json.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "format/json_writer.h"

namespace sluice {
namespace {

std::string column_prefix(const Relation& relation, const Column& column) {
  return relation.qualified_name() + "." + column.name + ": ";
}

}  // namespace

void append_value_json(std::string& out, const TypeInfo& type, std::string_view text) {
  if (type.renderer == nullptr) throw Error::internal(type.name + ": the type has no renderer");
  type.renderer->append_json(out, type, text);
}

std::string json_string_content(std::string_view json) {
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') {
    throw Error::internal("not a JSON string: " + std::string(json.substr(0, 48)));
  }
  // Most renderings (dates, timestamps, NaN) hold no escape.
  if (json.find_first_of("\\\"", 1) == json.size() - 1) return std::string(json.substr(1, json.size() - 2));
  try {
    return nlohmann::json::parse(json).get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error::internal("not a JSON string: " + std::string(json.substr(0, 48)) + ": " + e.what());
  }
}

std::string value_to_field(const TypeInfo& type, std::string_view text) {
  if (type.category == ValueCategory::kString) return std::string(text);
  std::string out;
  append_value_json(out, type, text);
  if (!out.empty() && out.front() == '"') return json_string_content(out);
  return out;
}

const TypeInfoPtr& resolve_column_type(const Relation& relation, const Column& column) {
  if (!column.type) throw Error::invalid_input(column_prefix(relation, column) + "its type is not resolved");
  return column.type;
}

std::string row_to_json(const Relation& relation, const std::vector<Value>& values,
                        const std::vector<int>* only_columns) {
  if (values.size() != relation.columns.size()) {
    throw Error::invalid_input(relation.qualified_name() + ": " + std::to_string(values.size()) +
                               " values for " + std::to_string(relation.columns.size()) +
                               " columns");
  }
  std::string out;
  out.push_back('{');
  bool first = true;
  auto append_column = [&](size_t index) {
    const Column& column = relation.columns[index];
    const Value& value = values[index];
    if (value.is_unchanged_toast()) return;  // never written as null (invariant 5)
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, column.name);
    out.push_back(':');
    if (value.is_null()) {
      out += "null";
      return;
    }
    const TypeInfo& type = *resolve_column_type(relation, column);
    try {
      append_value_json(out, type, value.text);
    } catch (const Error& e) {
      throw Error(e.kind(), column_prefix(relation, column) + e.what());
    }
  };
  if (only_columns) {
    for (int index : *only_columns) {
      if (index < 0 || static_cast<size_t>(index) >= relation.columns.size()) {
        throw Error::internal(relation.qualified_name() + ": column index " +
                              std::to_string(index) + " out of range");
      }
      append_column(static_cast<size_t>(index));
    }
  } else {
    for (size_t i = 0; i < relation.columns.size(); ++i) append_column(i);
  }
  out.push_back('}');
  return out;
}

std::string row_to_text_json(const Relation& relation, const std::vector<Value>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size() && i < relation.columns.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, relation.columns[i].name);
    out += ':';
    if (values[i].is_text()) {
      append_json_string(out, values[i].text);
    } else {
      out += values[i].is_null() ? "null" : "\"(unchanged TOAST)\"";
    }
  }
  return out + "}";
}

}  // namespace sluice
