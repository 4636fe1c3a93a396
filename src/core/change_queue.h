// The bounded queue between the source thread and one sink thread. Bounded by
// bytes (Change::byte_size()), not by count, so memory does not grow with the
// backlog or with the size of a transaction (invariant 6).
// One producer (the source) and one consumer (the sink runner). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <variant>

#include "core/change.h"

namespace sluice {

// The end of a source transaction: everything before it is one committed
// transaction; once applied, the source may be acknowledged up to `end` (a
// position the source made, not older than the transaction's changes).
struct TransactionEnd {
  Position end;
  std::chrono::system_clock::time_point commit_time{};  // for the replication lag
};
// The source has nothing pending up to `at` (a keepalive while no transaction is
// open): once everything queued before it is applied, `at` may be acknowledged,
// so an idle slot never pins WAL.
struct SourceIdle {
  Position at;
};

// A table re-sync (a watermark backfill, see source/postgres/table_resync.h)
// reached one of its two marks, in stream order:
// - kStart: `table` is about to be re-synced; sinks forget the shape they
//   stored for it, so that a crash before kFinish re-syncs it again.
// - kFinish: every row of `table` has been re-read into the stream at or after
//   `since`; sinks drop each row they hold for the table whose version is
//   older than `since` (rows that left the table without a logged change: a
//   detached or truncated partition), then store `shape` as the table's shape.
struct TableResync {
  enum class Phase : uint8_t { kStart, kFinish } phase = Phase::kStart;
  std::string table;  // "schema.table"
  Position since;     // kFinish
  std::string shape;  // kFinish: the table's shape fingerprint (source-defined)
};

using QueueItem = std::variant<ChangePtr, TransactionEnd, SourceIdle, TableResync>;

class ChangeQueue {
 public:
  explicit ChangeQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Waits up to `timeout` for room; returns false on timeout (the caller does its
  // periodic work and tries again). An item larger than the whole budget is
  // accepted when the queue is empty, so a huge row cannot deadlock.
  bool push(QueueItem item, std::chrono::milliseconds timeout);

  // Waits up to `timeout` for at least one item, then moves up to `max_items`
  // items (at most `max_bytes` of changes, at least one) into `out`. Returns the
  // number moved.
  size_t pop(std::deque<QueueItem>& out, size_t max_items, size_t max_bytes,
             std::chrono::milliseconds timeout);

  size_t bytes() const;
  bool empty() const;

 private:
  static size_t size_of(const QueueItem& item);

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<QueueItem> items_;
  size_t bytes_ = 0;
};

}  // namespace sluice
