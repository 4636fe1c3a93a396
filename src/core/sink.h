// The contract every sink implements (docs/extending.md). A sink is used from one
// thread at a time (its own sink thread); it owns its connection(s).
//
// The contract is small: a name, a declared durability, load the stored
// checkpoint, apply a batch, probe the store. What only some stores can do is an
// optional capability that the pipeline and `sluice verify` discover through the
// accessors at the end of Sink (nullptr: the sink cannot):
//   SnapshotTarget  the initial snapshot's lifecycle (every sink that keeps a
//                   checkpoint has it: its first checkpoint is set through it);
//   RebuildTarget   a rebuild after the store came back empty (on_reset = "rebuild");
//   RowStore        the sink holds one document per row: a rebuild copies rows,
//                   a table re-sync removes rows it did not see again;
//   VerifyTarget    `sluice verify` can compare those documents with the source;
//   KeySpaceTarget  keys rendered from a template, which verify scans for keys
//                   no row owns (core/key_space.h).
// A capability may depend on the sink's configuration (a Redis sink holds rows in
// mode = "upsert" only), so the accessors are asked of the instance.
//
// Exactly-once effect (Durability::kCheckpointAtomic): apply() stores the batch's
// changes and its checkpoint in one atomic step of the store, so after any crash
// the stored checkpoint says precisely which changes are in the store. Per key the
// store never goes backwards: a change whose position is not newer than the key's
// stored version is ignored (this is what makes replays, retries and snapshot rows
// safe).
//
// Errors: Error::transient when the store is unreachable or the connection dropped
// (the caller retries the same batch; apply() must be idempotent for that);
// SinkWasReset (an Error::state) when the store lost everything, checkpoint
// included (flushed, or restarted without persistence): nothing of the batch was
// written, and the caller may rebuild the sink (RebuildTarget) and apply it again;
// any other Error is fatal (e.g. Error::state when the stored checkpoint is not
// the one this sink wrote last, Error::invalid_input for a change the store rejects).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/error.h"

namespace sluice {

class KeySpaceTarget;  // core/key_space.h

enum class SnapshotState { kNone, kInProgress, kDone };
const char* to_string(SnapshotState state);

// What a sink promises about its checkpoint.
enum class Durability {
  // The checkpoint is stored in the store atomically with each batch (Redis: one
  // script call or MULTI/EXEC; a search index: one transaction per index).
  kCheckpointAtomic,
  // Applying a batch again has no further effect (e.g. messages whose ids derive
  // from their positions); the stored checkpoint may lag what the store holds.
  kIdempotentByPosition,
  // Keeps nothing (stdout): it follows the source from wherever it stands, and
  // start planning leaves it out.
  kNone,
};

// What a sink has stored about its own progress.
struct SinkCheckpoint {
  std::optional<Position> position;   // last applied change; empty: the sink is new
  SnapshotState snapshot = SnapshotState::kNone;
  std::string slot;                   // the source stream the checkpoint belongs to
  // A rebuild after a reset is copying rows at this point (RebuildTarget::begin_rebuild).
  std::optional<Position> rebuilding;
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

// The initial snapshot's lifecycle, and the first checkpoint of a sink that
// starts without one.
class SnapshotTarget {
 public:
  virtual ~SnapshotTarget() = default;
  // Records "in progress" for `slot` at `snapshot_at` (the position of every
  // snapshot row) and removes every key the sink holds for `tables` (an
  // interrupted earlier snapshot leaves nothing behind). Snapshot rows then
  // arrive through Sink::apply() in batches of kind kSnapshot, every row at
  // `snapshot_at`; rows at any other
  // position are refused (Error::state: they belong to another snapshot, e.g. of
  // a process that lost its lock), so a row is written once, at the snapshot's
  // version, into a table nothing else writes to yet.
  virtual void begin_snapshot(const std::string& slot, const Position& snapshot_at,
                              const std::vector<std::string>& tables) = 0;
  // Stores `snapshot_at` as the checkpoint and marks the snapshot done.
  virtual void finish_snapshot(const std::string& slot, const Position& snapshot_at) = 0;
  // Marks the sink as following `slot` from `start` (a consistent point's
  // position) without a snapshot (snapshot = "never").
  virtual void start_without_snapshot(const std::string& slot, const Position& start) = 0;
};

// Rebuild after a reset, while streaming goes on (pipeline/sink_rebuild.h).
class RebuildTarget {
 public:
  virtual ~RebuildTarget() = default;
  // Stores a checkpoint again: the position this sink last applied (none when it
  // never applied any), `slot`, and, when `copy_point` is given, that rows copied
  // at that position are being written (batches of kind kRebuild). While that is so,
  // a streamed delete or truncate newer than the copy point leaves a tombstone so
  // that a copied row never brings a deleted row back. A sink without a RowStore
  // is given no copy point: storing the checkpoint is its whole rebuild.
  virtual void begin_rebuild(const std::string& slot, const std::optional<Position>& copy_point) = 0;
  // Ends the rebuild (fenced on `copy_point`) and drops the tombstones;
  // Error::state when another rebuild has replaced this one.
  virtual void finish_rebuild(const Position& copy_point, const std::vector<std::string>& tables) = 0;
};

// A sink that holds one document per row, each with the position of the last
// change applied to it (its version).
class RowStore {
 public:
  virtual ~RowStore() = default;
  // Table re-sync (core/change_queue.h: TableResync). The shapes are
  // fingerprints the source computes for each table, stored by the sink beside
  // its rows: a table whose stored shape differs from the source's is re-synced
  // at start.
  virtual std::map<std::string, std::string> load_table_shapes() = 0;
  virtual void store_table_shape(const std::string& table, const std::string& shape) = 0;
  // Removes every row of `table` whose stored version is older than `since`,
  // each atomically with its check; idempotent. Returns how many it removed.
  virtual uint64_t remove_rows_older_than(const std::string& table, const Position& since) = 0;
};

// A RowStore that `sluice verify` can compare with the source, row by row
// (app/verify_command.cc). A row's document is named by a `key` (shown to a
// person: a Redis key, "index:id") and an `identity` (the primary-key values,
// encoded as core/identity.h says). `canonical` is a text that is equal for two
// documents exactly when they hold the same data; how it is made is the sink's
// business. Reads may be called while streaming goes on.
class VerifyTarget {
 public:
  virtual ~VerifyTarget() = default;
  struct Expected {
    std::string key;
    std::string identity;
    std::string canonical;
  };
  struct RowRef {
    std::string key;
    std::string identity;
  };
  struct Stored {
    std::optional<std::string> canonical;  // nullopt: no document
    std::optional<Position> version;       // of the last change applied to the row
  };
  // What the sink would store for the full row `row` of `relation` (throws like
  // apply() would for that row).
  virtual Expected expected_for(const RelationPtr& relation, const std::vector<Value>& row) = 0;
  // The canonical forms stored under `expected` keys (same order), nullopt where
  // there is none. Error::transient when the store is unreachable.
  virtual std::vector<std::optional<std::string>> read_canonical(const std::string& table,
                                                                 const std::vector<Expected>& expected) = 0;
  // For each row, its canonical form and then its version, read so that the
  // version is never older than the document read before it.
  virtual std::vector<Stored> read_stored(const std::string& table, const std::vector<RowRef>& rows) = 0;
  // The position of the last change the sink applied, as stored now.
  virtual std::optional<Position> read_applied_position() = 0;
  // Visits every row document the sink holds for `table`, in batches of
  // (identity, key), with memory flat whatever the table's size.
  virtual void scan_rows(const std::string& table,
                         const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& visit) = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;

  virtual const std::string& name() const = 0;
  virtual Durability durability() const = 0;

  // Whether the sink takes the changes of `table` ("schema.table") at all (a
  // search sink indexes only the tables it lists). The router (core/table_router.h)
  // hands the sink only those tables' changes and snapshot rows, and verify skips
  // the others. Depends on the configuration only: asked from any thread.
  virtual bool holds_table(const std::string& table) const {
    (void)table;
    return true;
  }

  // Connects if needed and reads the stored checkpoint.
  virtual SinkCheckpoint load_checkpoint() = 0;

  // Applies the batch (see file comment and core/batch.h for its kinds).
  virtual void apply(const Batch& batch) = 0;

  // Checks that the store answers (Error::transient when it does not). Called
  // while the sink has nothing to apply, so that an outage shows in the health
  // and the metrics before the next change needs the store.
  virtual void probe() {}

  virtual SinkTotals totals() const { return {}; }

  // Optional capabilities (file comment); the pointers live as long as the sink.
  virtual SnapshotTarget* snapshot_target() { return nullptr; }
  virtual RebuildTarget* rebuild_target() { return nullptr; }
  virtual RowStore* row_store() { return nullptr; }
  virtual VerifyTarget* verify_target() { return nullptr; }
  virtual KeySpaceTarget* key_space_target() { return nullptr; }  // core/key_space.h

  bool keeps_state() const { return durability() != Durability::kNone; }
};

}  // namespace sluice
