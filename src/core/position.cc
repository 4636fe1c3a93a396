#include "core/position.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace sluice {

namespace {
PositionFormat& format_slot() {
  static PositionFormat format;
  return format;
}
}  // namespace

Position Position::decode(std::string_view encoded) {
  const bool printable = std::all_of(encoded.begin(), encoded.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (encoded.empty() || encoded.size() > kMaxBytes || !printable) {
    throw Error::invalid_input(fmt::format("'{}' is not an encoded position (1 to {} bytes of printable ASCII, no space)",
                                           encoded, kMaxBytes));
  }
  Position position;
  std::copy(encoded.begin(), encoded.end(), position.bytes_);
  position.size_ = static_cast<uint8_t>(encoded.size());
  return position;
}

std::string Position::str() const {
  if (empty()) return "none";
  const PositionFormat& format = position_format();
  return format.describe ? format.describe(*this) : encode();
}

void set_position_format(PositionFormat format) { format_slot() = std::move(format); }
const PositionFormat& position_format() { return format_slot(); }

}  // namespace sluice
