// What sluice knows of a column's type: enough to render the PostgreSQL text form
// of a value as the JSON that PostgreSQL's own to_jsonb() would give.
// TypeInfo objects are immutable once built and shared (shared_ptr<const>) between
// threads; builtin ones live for the whole program (format/builtin_types.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

// How to_jsonb() treats a type (PostgreSQL src/backend/utils/adt/jsonb.c,
// jsonb_categorize_type), after domains are resolved to their base type.
enum class JsonCategory : uint8_t {
  kBool,         // 't'/'f' -> true/false
  kNumber,       // int2/int4/int8/float4/float8/numeric -> number; NaN/Infinity -> string
  kString,       // everything else: the text output as a JSON string
  kJson,         // json/jsonb: the text embedded as JSON
  kDate,         // date -> "YYYY-MM-DD" (XSD)
  kTimestamp,    // timestamp -> "YYYY-MM-DDTHH:MM:SS[.ffffff]"
  kTimestampTz,  // timestamptz -> "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM"
  kArray,        // array literal -> JSON array of element renderings
  kComposite,    // record literal -> JSON object of field renderings
};

struct TypeInfo;
using TypeInfoPtr = std::shared_ptr<const TypeInfo>;

struct CompositeField {
  std::string name;
  TypeInfoPtr type;
};

struct TypeInfo {
  uint32_t oid = 0;
  std::string name;                     // e.g. "int4", "public.mood"
  JsonCategory category = JsonCategory::kString;
  TypeInfoPtr element;                  // kArray: the element type
  char array_delimiter = ',';           // kArray: typdelim of the element type (',' except box: ';')
  std::vector<CompositeField> fields;   // kComposite: attributes in order
};

}  // namespace sluice
