// What a sink knows of a column's type (Column::type, core/change.h), made by
// the source before changes flow: a neutral category saying what kind of value
// the column holds, and the source's renderer, which turns the source's text of
// a value into JSON. Rendering is the source's job, because only it knows its
// text forms (PostgreSQL renders as to_jsonb() would:
// source/postgres/pg_value_json.h; a MariaDB source renders MariaDB's).
//
// What a sink may rely on, whatever the source:
//   - kString: the value's text is the string itself;
//   - every other category: the sink reads the value through its JSON rendering
//     (format/value_json.h), whose shape the category fixes:
//       kBool       true or false
//       kInteger    a JSON integer that fits in 64 signed bits
//       kNumber     a JSON number, or the string "NaN", "Infinity", "-Infinity"
//       kJson       any JSON value (the column holds JSON)
//       kDate       "YYYY-MM-DD" (XSD), or a string that is no such date
//                   ("infinity", "-infinity", a year with " BC")
//       kTimestamp  "YYYY-MM-DDTHH:MM:SS[.ffffff]" (no offset), or as above
//       kTimestampTz "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM", or as above
//       kArray      a JSON array
//       kComposite  a JSON object
//
// TypeInfo objects are immutable once built and shared (shared_ptr<const>)
// between threads; a renderer lives for the whole program.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class ValueCategory : uint8_t {
  kBool,
  kInteger,
  kNumber,
  kString,
  kJson,
  kDate,
  kTimestamp,
  kTimestampTz,
  kArray,
  kComposite,
};

struct TypeInfo;
using TypeInfoPtr = std::shared_ptr<const TypeInfo>;

// Turns the source's text of a value into JSON. Thread-safe; lives for the
// whole program.
class ValueRenderer {
 public:
  virtual ~ValueRenderer() = default;
  // Appends the JSON of one non-null value of `type`, in the shape its category
  // promises (above). Throws Error::invalid_input naming the type and the text
  // when the text cannot be rendered; never guesses.
  virtual void append_json(std::string& out, const TypeInfo& type, std::string_view text) const = 0;
};

struct CompositeField {
  std::string name;
  TypeInfoPtr type;
};

struct TypeInfo {
  uint32_t source_type_id = 0;  // the source's own id of the type (PostgreSQL: its OID)
  std::string name;             // as the source names it, e.g. "int4", "public.mood"
  ValueCategory category = ValueCategory::kString;
  const ValueRenderer* renderer = nullptr;  // set by the source; never null on a column's type
  // For the renderer: kArray's element type and separator (PostgreSQL: typdelim,
  // ',' except box: ';'), kComposite's fields in order.
  TypeInfoPtr element;
  char array_delimiter = ',';
  std::vector<CompositeField> fields;
};

}  // namespace sluice
