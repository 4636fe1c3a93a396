// Test-only builder for PostgreSQL wire bytes (big-endian integers, NUL-ended
// strings, TupleData values), shared by the decoder and framing tests.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace sluice::test {

class Bytes {
 public:
  Bytes& put1(uint8_t v) {
    data_.push_back(v);
    return *this;
  }
  Bytes& put2(uint16_t v) { return putBigEndian(v, 2); }
  Bytes& put4(uint32_t v) { return putBigEndian(v, 4); }
  Bytes& put8(uint64_t v) { return putBigEndian(v, 8); }
  // The protocol's String: the bytes, then NUL.
  Bytes& putString(std::string_view s) {
    putRaw(s);
    return put1(0);
  }
  Bytes& putRaw(std::string_view s) {
    data_.insert(data_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& putBytes(const Bytes& other) {
    data_.insert(data_.end(), other.data_.begin(), other.data_.end());
    return *this;
  }
  // TupleData column values.
  Bytes& putText(std::string_view s) {
    put1('t').put4(static_cast<uint32_t>(s.size()));
    return putRaw(s);
  }
  Bytes& putNull() { return put1('n'); }
  Bytes& putToast() { return put1('u'); }

  std::span<const uint8_t> span() const { return data_; }
  std::span<const uint8_t> prefix(size_t n) const { return span().first(n); }
  size_t size() const { return data_.size(); }

 private:
  Bytes& putBigEndian(uint64_t v, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
      data_.push_back(static_cast<uint8_t>(v >> shift));
    }
    return *this;
  }
  std::vector<uint8_t> data_;
};

}  // namespace sluice::test
