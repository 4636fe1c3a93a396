// Renders PostgreSQL text output as the JSON PostgreSQL's to_jsonb() gives for the
// same value with TimeZone=UTC (see JsonCategory in core/type_info.h).
// Throws Error::invalid_input naming the type and the offending text when a value
// cannot be rendered (e.g. a malformed array literal); never guesses.
//
// The text is expected in the form the source pins (core/change.h: DateStyle=ISO,
// extra_float_digits=3, ...). What to_jsonb() does, and so what this does
// (PostgreSQL src/backend/utils/adt/jsonb.c, datum_to_jsonb):
//   - numbers go through numeric_in(): the digits are kept exactly (never through
//     a double), but an exponent form is written out in positional notation
//     ("1e+20" -> 100000000000000000000, "1.5e-07" -> 0.00000015) and "-0" -> 0;
//     NaN, Infinity and -Infinity become strings;
//   - dates and timestamps use JsonEncodeDateTime()'s XSD style: 'T' between date
//     and time, the offset always with minutes ("+00" -> "+00:00"); a BC value
//     keeps its " BC" suffix, as EncodeDateOnly()/EncodeDateTime() print it;
//   - json/jsonb text is embedded as it is (to_jsonb() would re-parse a json value:
//     sort its keys, drop duplicate keys, normalise whitespace; sluice does not).
// Output is compact JSON (no spaces) with object keys in column/field order.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "core/type_info.h"

namespace sluice {

// Appends the JSON rendering of one non-null value of `type`.
void append_value_json(std::string& out, const TypeInfo& type, std::string_view text);

// The row as a JSON object: {"col": value, ...} in column order, null columns as
// null. Columns whose value is unchanged TOAST are left out (the caller decides how
// to keep them, see sink/redis). `only_columns` (may be null) limits the columns.
// Throws Error::invalid_input with "table.column: ..." in the message.
std::string row_to_json(const Relation& relation, const std::vector<Value>& values,
                        const std::vector<int>* only_columns = nullptr);

// The row as a JSON object of its PostgreSQL text values, without rendering
// them: {"col": "text", ...}, null columns as null, an unchanged TOAST value as
// "(unchanged TOAST)". Never throws for a value: for recording a change that
// cannot be rendered (dead letters, the stdout sink's "error" lines).
std::string row_to_text_json(const Relation& relation, const std::vector<Value>& values);

// The form a value takes as a Redis hash field or a key part: strings, dates and
// timestamps as their JSON string content (unquoted), everything else as its
// JSON text (numbers, true/false, arrays, objects).
std::string value_to_field(const TypeInfo& type, std::string_view text);

// The type of `column`: Column::type, else the builtin type of Column::type_oid.
// Throws Error::invalid_input("schema.table.column: type oid N is not resolved")
// when neither is known. The result is never null.
TypeInfoPtr resolve_column_type(const Relation& relation, const Column& column);

}  // namespace sluice
