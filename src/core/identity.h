// A row's identity: its primary-key values, each written as
// "<byte length>:<bytes>" and concatenated ("2:423:abc" for (42, 'abc')).
// Injective whatever the values contain; every sink that names rows by their key
// (the Redis index, the search index's _sluice_identity) uses this one encoding,
// so two sinks name a row alike. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Appends one value's part.
void append_identity_part(std::string& out, std::string_view value);
std::string encode_identity(const std::vector<std::string_view>& values);
// The values back; Error::invalid_input naming the text when it is malformed
// (a length that is not a number or runs past the end).
std::vector<std::string> decode_identity(std::string_view identity);

}  // namespace sluice
