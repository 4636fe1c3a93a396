#include "source/postgres/pg_position.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "core/error.h"

namespace sluice::pg {

namespace {

constexpr size_t kEncodedSize = 25;  // 16 hex digits, ':', 8 hex digits

struct Parts {
  uint64_t lsn = 0;
  uint32_t index = 0;
};

Parts parts_of(const Position& position) {
  const std::string_view text = position.view();
  auto bad = [&] {
    return Error::invalid_input(fmt::format(
        "'{}' is not a PostgreSQL position (expected 16 hex digits, ':', 8 hex digits)", text));
  };
  if (text.size() != kEncodedSize || text[16] != ':') throw bad();
  Parts parts;
  auto upper_hex = [](std::string_view digits) {
    return std::all_of(digits.begin(), digits.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
  };
  if (!upper_hex(text.substr(0, 16)) || !upper_hex(text.substr(17))) throw bad();
  std::from_chars(text.data(), text.data() + 16, parts.lsn, 16);
  std::from_chars(text.data() + 17, text.data() + kEncodedSize, parts.index, 16);
  return parts;
}

}  // namespace

Position position(Lsn commit_lsn, uint32_t index) {
  // Once per change: hex digits written by hand rather than through a format string.
  constexpr char kDigits[] = "0123456789ABCDEF";
  char text[kEncodedSize];
  uint64_t lsn = commit_lsn.value();
  for (int i = 15; i >= 0; --i, lsn >>= 4) text[i] = kDigits[lsn & 0xF];
  text[16] = ':';
  for (int i = 24; i >= 17; --i, index >>= 4) text[i] = kDigits[index & 0xF];
  return Position::decode(std::string_view(text, kEncodedSize));
}

Lsn commit_lsn_of(const Position& position) { return Lsn(parts_of(position).lsn); }
uint32_t index_of(const Position& position) { return parts_of(position).index; }

std::optional<Lsn> commit_lsn_in(const Position& position) {
  try {
    return commit_lsn_of(position);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string describe(const Position& position) {
  try {
    const Parts parts = parts_of(position);
    return fmt::format("{}#{}", Lsn(parts.lsn).str(), parts.index);
  } catch (const Error&) {
    return position.encode();  // not ours: shown as stored
  }
}

void use_position_format() {
  PositionFormat format;
  format.describe = describe;
  format.as_number = [](const Position& p) {
    const std::optional<Lsn> lsn = commit_lsn_in(p);
    return lsn ? static_cast<double>(lsn->value()) : 0.0;
  };
  format.event_fields.emplace_back("lsn", [](const Position& p) {
    const std::optional<Lsn> lsn = commit_lsn_in(p);
    return lsn ? lsn->str() : std::string();
  });
  set_position_format(std::move(format));
}

}  // namespace sluice::pg
