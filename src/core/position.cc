#include "core/position.h"

#include <charconv>

#include <fmt/format.h>

#include "core/error.h"

namespace sluice {

std::string Position::encode() const {
  return fmt::format("{:016X}:{:08X}", commit_lsn.value(), index);
}

Position Position::decode(std::string_view text) {
  auto bad = [&] {
    return Error::invalid_input(fmt::format("'{}' is not an encoded position (expected 16 hex digits, ':', 8 hex digits)", text));
  };
  if (text.size() != 25 || text[16] != ':') throw bad();
  uint64_t lsn = 0;
  uint32_t index = 0;
  auto r1 = std::from_chars(text.data(), text.data() + 16, lsn, 16);
  auto r2 = std::from_chars(text.data() + 17, text.data() + 25, index, 16);
  if (r1.ec != std::errc() || r1.ptr != text.data() + 16 || r2.ec != std::errc() ||
      r2.ptr != text.data() + 25) {
    throw bad();
  }
  return Position{Lsn(lsn), index};
}

std::string Position::str() const { return fmt::format("{}#{}", commit_lsn.str(), index); }

}  // namespace sluice
