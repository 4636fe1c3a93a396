#include "core/change.h"

namespace sluice {

int Relation::column_index(std::string_view column_name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column_name) return static_cast<int>(i);
  }
  return -1;
}

const char* to_string(Op op) {
  switch (op) {
    case Op::kInsert: return "insert";
    case Op::kUpdate: return "update";
    case Op::kDelete: return "delete";
    case Op::kTruncate: return "truncate";
  }
  return "?";
}

size_t Change::byte_size() const {
  if (const size_t known = size_cache.bytes.load(std::memory_order_relaxed); known != 0) return known;
  size_t size = sizeof(Change);
  for (const auto& v : old_values) size += sizeof(Value) + v.text.capacity();
  for (const auto& v : new_values) size += sizeof(Value) + v.text.capacity();
  size_cache.bytes.store(size, std::memory_order_relaxed);
  return size;
}

}  // namespace sluice
