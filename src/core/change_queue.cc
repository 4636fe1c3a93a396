#include "core/change_queue.h"

namespace sluice {

size_t ChangeQueue::size_of(const QueueItem& item) {
  if (auto* change = std::get_if<ChangePtr>(&item)) return (*change)->byte_size();
  return sizeof(QueueItem);
}

bool ChangeQueue::push(QueueItem item, std::chrono::milliseconds timeout) {
  size_t size = size_of(item);
  {
    std::unique_lock lock(mutex_);
    if (!not_full_.wait_for(lock, timeout, [&] { return items_.empty() || bytes_ + size <= max_bytes_; })) {
      return false;
    }
    bytes_ += size;
    items_.push_back(std::move(item));
  }
  not_empty_.notify_one();
  return true;
}

size_t ChangeQueue::pop(std::deque<QueueItem>& out, size_t max_items, size_t max_bytes,
                        std::chrono::milliseconds timeout) {
  size_t moved = 0;
  {
    std::unique_lock lock(mutex_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return 0;
    size_t taken_bytes = 0;
    while (!items_.empty() && moved < max_items) {
      size_t size = size_of(items_.front());
      if (moved > 0 && taken_bytes + size > max_bytes) break;
      taken_bytes += size;
      bytes_ -= size;
      out.push_back(std::move(items_.front()));
      items_.pop_front();
      ++moved;
    }
  }
  not_full_.notify_one();
  return moved;
}

size_t ChangeQueue::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

bool ChangeQueue::empty() const {
  std::lock_guard lock(mutex_);
  return items_.empty();
}

}  // namespace sluice
