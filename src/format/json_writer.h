// Appends JSON text to a std::string. Hand-written on purpose: sluice must embed
// raw JSON (json/jsonb values, numbers exactly as PostgreSQL printed them) and
// never round-trip numbers through double; docs/dependencies.md says more.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Appends `text` as a JSON string literal (with quotes), escaping '"', '\\' and
// control characters as PostgreSQL's escape_json() does. `text` must be UTF-8.
void append_json_string(std::string& out, std::string_view text);

}  // namespace sluice
