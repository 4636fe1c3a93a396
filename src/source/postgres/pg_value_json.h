// PostgreSQL's value renderer (core/type_info.h): PostgreSQL text output as the
// JSON PostgreSQL's to_jsonb() gives for the same value with TimeZone=UTC.
// Throws Error::invalid_input naming the type and the offending text when a value
// cannot be rendered (e.g. a malformed array literal); never guesses.
//
// The text is expected in the form the source pins (pg_connection.h: DateStyle=ISO,
// extra_float_digits=3, ...). What to_jsonb() does, and so what this does
// (PostgreSQL src/backend/utils/adt/jsonb.c, datum_to_jsonb):
//   - numbers go through numeric_in(): the digits are kept exactly (never through
//     a double), but an exponent form is written out in positional notation
//     ("1e+20" -> 100000000000000000000, "1.5e-07" -> 0.00000015) and "-0" -> 0;
//     NaN, Infinity and -Infinity become strings;
//   - booleans 't'/'f' become true/false;
//   - dates and timestamps use JsonEncodeDateTime()'s XSD style: 'T' between date
//     and time, the offset always with minutes ("+00" -> "+00:00"); a BC value
//     keeps its " BC" suffix, as EncodeDateOnly()/EncodeDateTime() print it;
//   - array literals (array_out()) become JSON arrays, record literals
//     (record_out()) JSON objects of their fields, parsed with array_in()'s and
//     record_in()'s rules, bounds-checked;
//   - json/jsonb text is embedded as it is (to_jsonb() would re-parse a json value:
//     sort its keys, drop duplicate keys, normalise whitespace; sluice does not).
// Output is compact JSON (no spaces) with object keys in field order.
//
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/type_info.h"

namespace sluice::pg {

// The renderer every PostgreSQL TypeInfo carries (pg_builtin_types.h,
// type_resolver.h); lives for the whole program.
const ValueRenderer& to_jsonb_renderer();

// Appends the to_jsonb() rendering of one non-null value of `type`.
void append_to_jsonb(std::string& out, const TypeInfo& type, std::string_view text);

}  // namespace sluice::pg
