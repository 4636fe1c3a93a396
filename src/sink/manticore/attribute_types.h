// How a column becomes a search attribute (Sphinx 2.2 rt_attr_*, or a Manticore
// column), and how its value becomes a SphinxQL literal: by the column type's
// category, reading the value through the source's JSON rendering
// (core/type_info.h; for PostgreSQL that is to_jsonb()'s), except a string's.
//
//   category (PostgreSQL types)              attribute   literal
//   kInteger (int2, int4, int8, domains      bigint      the integer (int64)
//     over them)
//   kBool (bool)                             bool        1 / 0
//   kNumber (float4, float8, numeric)        float       float32, shortest round-trip digits
//                                                        in exponent form (1.5e+00); NaN,
//                                                        Infinity, -Infinity as 'nan', 'inf', '-inf'
//   kDate, kTimestamp, kTimestampTz          timestamp   Unix seconds UTC (fraction dropped);
//     (date, timestamp, timestamptz)                     a date is its midnight UTC
//   kJson, kArray (json, jsonb, arrays)      json        the JSON text, quoted
//   kString (text, uuid, numeric ranges,     string      the value's text, quoted
//     bytea as \x..., every other type)
//   kComposite (composite types)             string      its JSON object, quoted
//
// SQL NULL has no SphinxQL literal (the parser refuses NULL), so a NULL column is
// written as its attribute's default: 0 for bigint, bool, float and timestamp,
// '' for string, '{}' for json. A search client cannot tell NULL from that value.
//
// What a Sphinx 2.2 attribute cannot hold is an Error::invalid_input naming the
// column and the value, never a silent substitute (searchd itself would wrap an
// out-of-range integer, turn an unparseable JSON into NULL with a warning, and
// store 1e300 as inf):
//   - a timestamp outside 0..4294967295 (rt_attr_timestamp is unsigned 32-bit:
//     1970-01-01 to 2106-02-07), 'infinity', '-infinity' and BC dates;
//   - a finite number beyond float32's range (|x| > 3.4028235e38);
//   - a json value that is not an object or an array (a JSON attribute holds
//     only those: '12' or '"text"' is refused by searchd);
//   - text with a NUL byte; a value the source's renderer refuses.
// float32 keeps about 7 significant digits: an int8 or numeric routed as float
// loses precision by design. Numbers inside a json attribute are searchd's own
// business: it clamps integers to int64 and keeps floats as float32.
//
// An unchanged TOAST value has no literal: the caller must supply the stored
// value (core/change.h, invariant 5); passing one is Error::internal.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/change.h"
#include "core/type_info.h"

namespace sluice {

enum class AttributeType : uint8_t { kBigint, kBool, kFloat, kTimestamp, kJson, kString };

// "bigint", "bool", "float", "timestamp", "json", "string": the word DESCRIBE
// prints for the attribute in Sphinx 2.2, and the Manticore column type.
std::string_view to_string(AttributeType type);

// The attribute type for a (resolved) column type, by the table above.
AttributeType attribute_type_of(const TypeInfo& type);
// The attribute type of relation.columns[i] (format/value_json.h's
// resolve_column_type; throws as it does when the type is not resolved).
AttributeType attribute_type_of(const Relation& relation, const Column& column);

// Appends the literal of `value` for an attribute of `type` whose column has
// type `column_type`. `where` ("schema.table.column") starts every message.
void append_attribute_literal(std::string& out, AttributeType type, const TypeInfo& column_type,
                              const Value& value, std::string_view where);
std::string attribute_literal(AttributeType type, const TypeInfo& column_type, const Value& value,
                              std::string_view where);

// Unix seconds (UTC) of a date, timestamp or timestamptz in its rendered XSD
// form without the quotes (core/type_info.h: "2024-05-01",
// "2024-05-01T12:34:56.5", "2024-05-01T12:34:56+05:30"). The fraction is
// dropped (toward minus infinity). Throws Error::invalid_input("<where>: ...")
// on anything else, naming the text; 'infinity', '-infinity' and BC values are
// refused as having no Unix time here.
int64_t unix_seconds_of(ValueCategory category, std::string_view text, std::string_view where);

}  // namespace sluice
