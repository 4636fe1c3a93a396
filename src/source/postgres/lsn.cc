#include "source/postgres/lsn.h"

#include <charconv>

#include <fmt/format.h>

#include "core/error.h"

namespace sluice::pg {

namespace {
bool parse_hex32(std::string_view part, uint32_t& out) {
  if (part.empty() || part.size() > 8) return false;
  auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), out, 16);
  return ec == std::errc() && ptr == part.data() + part.size();
}
}  // namespace

Lsn Lsn::parse(std::string_view text) {
  auto slash = text.find('/');
  uint32_t hi = 0, lo = 0;
  if (slash == std::string_view::npos || !parse_hex32(text.substr(0, slash), hi) ||
      !parse_hex32(text.substr(slash + 1), lo)) {
    throw Error::invalid_input(fmt::format("'{}' is not a WAL position (expected e.g. 16/B374D848)", text));
  }
  return Lsn((static_cast<uint64_t>(hi) << 32) | lo);
}

std::string Lsn::str() const {
  return fmt::format("{:X}/{:X}", static_cast<uint32_t>(value_ >> 32), static_cast<uint32_t>(value_));
}

}  // namespace sluice::pg
