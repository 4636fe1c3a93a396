// A row's values as JSON, through each column's type (core/type_info.h): the
// source's renderer makes the JSON of a value; this puts rows together and
// gives the forms the sinks derive from it. Knows no source's text forms.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "core/type_info.h"

namespace sluice {

// Appends the JSON rendering of one non-null value of `type` (its renderer's).
// Throws Error::internal when the type has no renderer.
void append_value_json(std::string& out, const TypeInfo& type, std::string_view text);

// The row as a JSON object: {"col": value, ...} in column order, null columns as
// null. Columns whose value is unchanged TOAST are left out (the caller decides how
// to keep them, see sink/redis). `only_columns` (may be null) limits the columns.
// Throws Error::invalid_input with "table.column: ..." in the message.
std::string row_to_json(const Relation& relation, const std::vector<Value>& values,
                        const std::vector<int>* only_columns = nullptr);

// The row as a JSON object of its source text values, without rendering
// them: {"col": "text", ...}, null columns as null, an unchanged TOAST value as
// "(unchanged TOAST)". Never throws for a value: for recording a change that
// cannot be rendered (dead letters, the stdout sink's "error" lines).
std::string row_to_text_json(const Relation& relation, const std::vector<Value>& values);

// The form a value takes as a Redis hash field, a key part or a search
// attribute's text: a kString value's text itself; for every other category
// its JSON rendering, unquoted when that is a JSON string (dates, timestamps,
// NaN), else as it is (numbers, true/false, arrays, objects).
std::string value_to_field(const TypeInfo& type, std::string_view text);

// The content of the JSON string `json` (quotes removed, escapes decoded).
// Throws Error::internal when `json` is not one JSON string.
std::string json_string_content(std::string_view json);

// Column::type of `column`. Throws Error::invalid_input("schema.table.column:
// its type is not resolved") when the source left it unset. Never null.
const TypeInfoPtr& resolve_column_type(const Relation& relation, const Column& column);

}  // namespace sluice
