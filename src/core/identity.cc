#include "core/identity.h"

#include <charconv>

#include "core/error.h"

namespace sluice {

void append_identity_part(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out.push_back(':');
  out.append(value);
}

std::string encode_identity(const std::vector<std::string_view>& values) {
  std::string out;
  for (std::string_view v : values) append_identity_part(out, v);
  return out;
}

std::vector<std::string> decode_identity(std::string_view identity) {
  std::vector<std::string> values;
  while (!identity.empty()) {
    const size_t colon = identity.find(':');
    size_t length = 0;
    auto [ptr, ec] = std::from_chars(identity.data(), identity.data() + (colon == std::string_view::npos ? 0 : colon), length);
    if (colon == std::string_view::npos || ec != std::errc() || ptr != identity.data() + colon ||
        identity.size() - colon - 1 < length) {
      throw Error::invalid_input("row identity is malformed: '" + std::string(identity.substr(0, 64)) + "'");
    }
    values.emplace_back(identity.substr(colon + 1, length));
    identity.remove_prefix(colon + 1 + length);
  }
  return values;
}

}  // namespace sluice
