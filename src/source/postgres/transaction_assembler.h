// Turns decoded pgoutput messages into the queue items the sinks consume:
// Changes stamped with their Position (commit LSN from Begin, index inside the
// transaction from 1), and a TransactionEnd after each Commit.
//
// It enforces the protocol's framing: a change outside Begin/Commit, a Begin
// inside a transaction, or a Commit whose LSN differs from its Begin's, throws
// Error::protocol. It also drops what a reconnect replays: changes at or before
// the last position it emitted (positions are deterministic for the same WAL).
// Not thread-safe; owned by the source thread.
#pragma once

#include <functional>
#include <optional>

#include "core/change_queue.h"
#include "source/postgres/pgoutput_decoder.h"

namespace sluice::pg {

class TransactionAssembler {
 public:
  using Emit = std::function<void(QueueItem)>;

  explicit TransactionAssembler(Emit emit) : emit_(std::move(emit)) {}

  // Consumes one decoded message. Relation/Type/Origin/Message are not changes
  // and are ignored here (the caller handles Relation before calling this).
  void consume(const Message& message);

  bool in_transaction() const { return open_.has_value(); }
  // The commit LSN of the open transaction (from its Begin), if one is open.
  std::optional<Lsn> open_commit_lsn() const {
    return open_ ? std::optional<Lsn>(open_->final_lsn) : std::nullopt;
  }
  // Emits a row a table re-sync read again (Change::backfill) as an Insert of
  // the open transaction, at its next position. Throws like a change outside a
  // transaction.
  void emit_backfill(const RelationPtr& relation, std::vector<Value> values);
  // Forget a partly received transaction (the connection dropped mid-way; the
  // server will send it again from its Begin).
  void reset_transaction() { open_.reset(); }
  uint64_t changes_emitted() const { return changes_emitted_; }

 private:
  struct Open {
    Lsn final_lsn;
    uint32_t xid;
    Timestamp commit_time;
    uint32_t next_index = 1;
  };
  void emit_change(Op op, const RelationPtr& relation, std::vector<Value> old_values,
                   std::vector<Value> new_values, const char* what, bool backfill = false);

  Emit emit_;
  std::optional<Open> open_;
  std::optional<Position> last_emitted_;
  uint64_t changes_emitted_ = 0;
};

}  // namespace sluice::pg
