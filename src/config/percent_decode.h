// RFC 3986 percent-decoding of the user and password parts of a sink's URL
// (redis://, mysql://). Pure, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// "%40" -> "@"; nullopt on a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace sluice
