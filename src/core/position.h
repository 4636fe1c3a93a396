// The position of one change in its source's commit order. Opaque to everything
// but the source that made it: a short string of printable ASCII bytes (no
// space) whose byte order is the commit order, so that a store can compare
// positions as strings (Redis Lua does, a search index compares its version
// attribute) and a sink never needs to know which source it follows. The
// PostgreSQL source's positions are source/postgres/pg_position.h.
//
// A source numbers every change, so positions are deterministic across replays
// of the same log, which is what lets a sink recognise a change it has already
// applied. The rows of a consistent snapshot share one position, older than every
// change streamed after it. The empty position is older than every other.
//
// How positions read in logs, in events and as a number for gauges is the
// source's to say (set_position_format, once at startup); by default a position
// reads as its encoding.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

class Position {
 public:
  // At most this many bytes (held inline: a Position never allocates).
  static constexpr size_t kMaxBytes = 48;

  Position() = default;  // the empty position

  // The encoding a source made or a sink stored: 1 to kMaxBytes bytes of
  // printable ASCII other than space. Throws Error::invalid_input naming the text.
  static Position decode(std::string_view encoded);
  std::string encode() const { return std::string(view()); }
  std::string_view view() const { return {bytes_, size_}; }
  bool empty() const { return size_ == 0; }

  // For logs and messages: the source's form ("16/B374D848#42"), see
  // set_position_format; "none" for the empty position.
  std::string str() const;

  // Byte order (every byte is ASCII, so char order is byte order).
  friend bool operator==(const Position& a, const Position& b) { return a.view() == b.view(); }
  friend std::strong_ordering operator<=>(const Position& a, const Position& b) {
    const int c = a.view().compare(b.view());
    return c < 0 ? std::strong_ordering::less : c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
  }

 private:
  char bytes_[kMaxBytes] = {};
  uint8_t size_ = 0;
};

// The source's reading of its positions.
struct PositionFormat {
  // The human form for logs and messages; unset: the encoding.
  std::function<std::string(const Position&)> describe;
  // A number that grows with the position (PostgreSQL: the commit LSN), for the
  // gauges; unset: 0.
  std::function<double(const Position&)> as_number;
  // Fields an event (stdout, a Redis stream entry) carries besides "pos", named
  // by the source (PostgreSQL: "lsn").
  std::vector<std::pair<std::string, std::function<std::string(const Position&)>>> event_fields;
};

// Called once, before any thread that reads positions starts.
void set_position_format(PositionFormat format);
const PositionFormat& position_format();

}  // namespace sluice
