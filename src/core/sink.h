// The contract every sink implements. A sink is used from one thread at a time
// (its own sink thread); it owns its connection(s).
//
// Exactly-once effect: apply() stores the batch's changes and its checkpoint in
// one atomic step of the store, so after any crash the stored checkpoint says
// precisely which changes are in the store. Per key the store never goes
// backwards: a change whose position is not newer than the key's stored version
// is ignored (this is what makes replays, retries and snapshot rows safe).
//
// Errors: Error::transient when the store is unreachable or the connection dropped
// (the caller retries the same batch; apply() must be idempotent for that);
// SinkWasReset (an Error::state) when the store lost everything, checkpoint
// included (flushed, or restarted without persistence): nothing of the batch was
// written, and the caller may rebuild the sink (on_reset) and apply it again;
// any other Error is fatal (e.g. Error::state when the stored checkpoint is not
// the one this sink wrote last, Error::invalid_input for a change the store rejects).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/batch.h"
#include "core/error.h"
#include "core/lsn.h"

namespace sluice {

enum class SnapshotState { kNone, kInProgress, kDone };
const char* to_string(SnapshotState state);

// What a sink has stored about its own progress.
struct SinkCheckpoint {
  std::optional<Position> position;   // last applied change; empty: the sink is new
  SnapshotState snapshot = SnapshotState::kNone;
  std::string slot;                   // the slot the checkpoint belongs to
  // A rebuild after a reset is copying rows at this point (begin_rebuild()).
  std::optional<Lsn> rebuilding;
};

// The store came back empty: its stored checkpoint is gone (see file comment).
class SinkWasReset : public Error {
 public:
  explicit SinkWasReset(std::string message) : Error(ErrorKind::kState, std::move(message)) {}
};

// What a sink has done since it was made, for the metrics.
struct SinkTotals {
  uint64_t skipped = 0;        // changes skipped by the per-row version guard
  uint64_t dead_lettered = 0;  // changes rejected and recorded (on_error = "dead_letter")
};

class Sink {
 public:
  virtual ~Sink() = default;

  virtual const std::string& name() const = 0;

  // Connects if needed and reads the stored checkpoint.
  virtual SinkCheckpoint load_checkpoint() = 0;

  // Applies the batch (see file comment).
  virtual void apply(const Batch& batch) = 0;

  // Initial snapshot lifecycle. begin_snapshot() records "in progress" for `slot`
  // at `consistent_point` and removes every key the sink holds for `tables` (an
  // interrupted earlier snapshot leaves nothing behind). Snapshot rows then
  // arrive through apply() with checkpoint-less batches, every row at
  // Position{consistent_point, 0}; rows at any other position are refused
  // (Error::state: they belong to another snapshot, e.g. of a process that lost
  // its lock), so a row is written once, at the snapshot's version, into a table
  // nothing else writes to yet. finish_snapshot() stores `consistent_point` (as
  // Position{lsn, 0}) as the checkpoint and marks the snapshot done.
  virtual void begin_snapshot(const std::string& slot, Lsn consistent_point,
                              const std::vector<std::string>& tables) = 0;
  virtual void finish_snapshot(const std::string& slot, Lsn consistent_point) = 0;

  // Marks the sink as following `slot` from `position` without a snapshot
  // (snapshot = "never").
  virtual void start_without_snapshot(const std::string& slot, Lsn consistent_point) = 0;

  // Rebuild after a reset, while streaming goes on (pipeline/sink_rebuild.h).
  // begin_rebuild() stores a checkpoint again: the position this sink last
  // applied (none when it never applied any), `slot`, and, when `copy_point` is
  // given, that rows copied at that point are being written (Batch::rebuild).
  // While that is so, a streamed delete or truncate newer than the copy point
  // leaves a tombstone so that a copied row never brings a deleted row back.
  // finish_rebuild() ends it (fenced on `copy_point`) and drops the tombstones;
  // Error::state when another rebuild has replaced this one.
  virtual void begin_rebuild(const std::string& slot, std::optional<Lsn> copy_point) = 0;
  virtual void finish_rebuild(Lsn copy_point, const std::vector<std::string>& tables) = 0;
  // Whether the sink holds one entry per row, so that a rebuild has rows to copy
  // (Redis upsert). Otherwise begin_rebuild(slot, nullopt) is the whole rebuild.
  virtual bool holds_rows() const = 0;

  virtual SinkTotals totals() const { return {}; }

  // False for a sink that stores no checkpoint (stdout): it follows the slot
  // from wherever it stands, and start planning leaves it out.
  virtual bool keeps_state() const { return true; }

  // Table re-sync (core/change_queue.h: TableResync), for sinks that hold rows;
  // the others keep these no-ops. The shapes are fingerprints the source
  // computes for each table, stored by the sink beside its rows: a table whose
  // stored shape differs from the source's is re-synced at start.
  virtual std::map<std::string, std::string> load_table_shapes() { return {}; }
  virtual void store_table_shape(const std::string& /*table*/, const std::string& /*shape*/) {}
  // Removes every row of `table` whose stored version is older than `since`,
  // each atomically with its check; idempotent. Returns how many it removed.
  virtual uint64_t remove_rows_older_than(const std::string& /*table*/, const Position& /*since*/) { return 0; }

  // Checks that the store answers (Error::transient when it does not). Called
  // while the sink has nothing to apply, so that an outage shows in the health
  // and the metrics before the next change needs the store.
  virtual void probe() {}
};

}  // namespace sluice
