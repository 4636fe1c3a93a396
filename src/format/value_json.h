// Renders PostgreSQL text output as the JSON PostgreSQL's to_jsonb() gives for the
// same value with TimeZone=UTC (see JsonCategory in core/type_info.h).
// Throws Error::invalid_input naming the type and the offending text when a value
// cannot be rendered (e.g. a malformed array literal); never guesses.
#pragma once

#include <string>
#include <string_view>

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

// The form a value takes as a Redis hash field or a key part: strings, dates and
// timestamps as their JSON string content (unquoted), everything else as its
// JSON text (numbers, true/false, arrays, objects).
std::string value_to_field(const TypeInfo& type, std::string_view text);

}  // namespace sluice
