#include "sink/manticore/document_id.h"

#include <charconv>

#include "core/error.h"
#include "core/identity.h"
#include "format/value_json.h"

namespace sluice {
namespace {

constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;
constexpr uint64_t kMaxRowId = (uint64_t{1} << 63) - 1;


}  // namespace

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = kFnvOffsetBasis;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}


std::vector<int> document_key_columns(const Relation& relation) {
  std::vector<int> key;
  for (int index : relation.primary_key) {
    if (index < 0 || static_cast<size_t>(index) >= relation.columns.size()) {
      throw Error::internal("table " + relation.qualified_name() + ": primary-key column index " +
                            std::to_string(index) + " is outside its " + std::to_string(relation.columns.size()) +
                            " columns");
    }
    key.push_back(index);
  }
  if (!key.empty()) return key;
  for (size_t i = 0; i < relation.columns.size(); ++i) {
    if (relation.columns[i].in_primary_key) key.push_back(static_cast<int>(i));
  }
  if (!key.empty()) return key;
  for (size_t i = 0; i < relation.columns.size(); ++i) {
    if (relation.columns[i].in_identity) key.push_back(static_cast<int>(i));
  }
  if (key.empty()) {
    throw Error::invalid_input("table " + relation.qualified_name() +
                               " has no primary key and no replica identity: its rows have no document id");
  }
  return key;
}

bool document_id_is_key_value(const Relation& relation) {
  const std::vector<int> key = document_key_columns(relation);
  if (key.size() != 1) return false;
  return resolve_column_type(relation, relation.columns[static_cast<size_t>(key[0])])->category ==
         ValueCategory::kInteger;
}

DocumentId document_id(const Relation& relation, const std::vector<Value>& values) {
  if (values.size() != relation.columns.size()) {
    throw Error::invalid_input("table " + relation.qualified_name() + ": " + std::to_string(values.size()) +
                               " values for " + std::to_string(relation.columns.size()) + " columns");
  }
  const std::vector<int> key = document_key_columns(relation);
  DocumentId out;
  for (int index : key) {
    const Value& v = values[static_cast<size_t>(index)];
    const Column& column = relation.columns[static_cast<size_t>(index)];
    if (!v.is_text()) {
      throw Error::invalid_input("table " + relation.qualified_name() + ": key column " + column.name + " is " +
                                 (v.is_null() ? "NULL" : "an unchanged TOAST value") + ": the row has no document id");
    }
    append_identity_part(out.identity, v.text);
  }

  if (document_id_is_key_value(relation)) {
    const Column& column = relation.columns[static_cast<size_t>(key[0])];
    {
      // An integer's digits are its JSON rendering (core/type_info.h).
      std::string text;
      try {
        text = value_to_field(*resolve_column_type(relation, column), values[static_cast<size_t>(key[0])].text);
      } catch (const Error& e) {
        throw Error(e.kind(), "table " + relation.qualified_name() + ": key " + column.name + ": " + e.what());
      }
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
        throw Error::invalid_input("table " + relation.qualified_name() + ": key " + column.name + " = '" + text +
                                   "' is not a 64-bit integer");
      }
      if (value < 1) {
        throw Error::invalid_input("table " + relation.qualified_name() + ": key " + column.name + " = " + text +
                                   " cannot be a document id: search document ids are 1..9223372036854775807");
      }
      out.id = value;
      return out;
    }
  }
  out.id = static_cast<int64_t>(fnv1a64(out.identity) % kMaxRowId + 1);
  return out;
}

}  // namespace sluice
