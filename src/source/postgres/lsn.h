// A PostgreSQL WAL location ("log sequence number"). Parsed and formatted in the
// server's own "XXXXXXXX/XXXXXXXX" notation; never passed around as a bare string.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::pg {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Parses "16/B374D848". Throws Error::invalid_input naming the text on anything else.
  static Lsn parse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  constexpr bool is_zero() const { return value_ == 0; }
  std::string str() const;  // "16/B374D848"

  constexpr auto operator<=>(const Lsn&) const = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace sluice::pg
