// The position of one change in the source's commit order:
//   (commit LSN of its transaction, index of the change inside that transaction).
// Stream changes have index >= 1. A row copied by the initial snapshot has the
// slot's consistent point as commit_lsn and index 0, so it is older than every
// change streamed after it. Positions are deterministic across replays of the same
// WAL, which is what lets a sink recognise a change it has already applied.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/lsn.h"

namespace sluice {

struct Position {
  Lsn commit_lsn;
  uint32_t index = 0;

  constexpr auto operator<=>(const Position&) const = default;

  // Fixed-width text ("00000016B374D848:0000002A") whose byte order is the
  // position order, so a store can compare positions as strings (Redis Lua does).
  std::string encode() const;
  // Inverse of encode(); throws Error::invalid_input naming the text.
  static Position decode(std::string_view text);
  // Human form for logs: "16/B374D848#42".
  std::string str() const;
};

}  // namespace sluice
