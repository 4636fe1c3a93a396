// The search sink (kind = "manticore"): keeps one real-time index per routed
// table of Manticore Search or Sphinx 2.2+ in step with the source, over
// SphinxQL (docs/configuration.md, "Search sinks"; docs/architecture.md).
//
// Documents: one per row, id and identity by document_id.h, columns by
// document_layout.h, each with the position of the change that wrote it
// (_sluice_version). Only the tables in the sink's [[sinks.tables]] are indexed;
// changes of other tables are not this sink's.
//
// Checkpoint: every index holds one reserved document (id 2^63,
// document_id.h) whose _sluice_checkpoint is checkpoint_text.h's text. A batch is
// applied as ONE transaction per index — BEGIN, the deletes, the REPLACEs, the
// index's checkpoint document, COMMIT — so after any crash each index says
// exactly which changes it holds, and resumes from its own checkpoint: a source
// transaction that touches several indexes becomes visible index by index.
// load_checkpoint() reports the oldest index's position; changes at or before
// an index's own checkpoint are not sent to it again (a replay). A streamed
// batch moves the checkpoint of every index, touched or not. Fencing: a
// streamed batch first reads each checkpoint and expects where this sink left
// it (else Error::state: another process writes the index), or the batch's
// own checkpoint (an earlier attempt landed and its answer was lost: every
// change is then a replay).
//
// Versions: before writing, the batch's documents are read back (one SELECT per
// index; not for the initial snapshot's rows when document ids are the key
// itself: the index was just emptied and no id can collide); a change not newer than its document's version is skipped (no key
// goes backwards), and a document whose stored identity is another row's is a
// hash collision: Error::invalid_input naming both rows, never an overwrite.
// Within a batch only each document's last change is written (SphinxQL applies a
// transaction's deletes before its REPLACEs). Reads and writes of one index are
// serialised within the process by its IndexGate (index_gate.h), which also
// keeps a rebuild's tombstones.
//
// Unchanged TOAST: the value is taken from the stored document, which works for
// attributes and for fields that are also string attributes. A field that is
// not stored (Sphinx 2.2 cannot return a field) cannot be kept: Error::state
// naming the row and column and the two ways out (declare the field as a string
// attribute too, or REPLICA IDENTITY FULL). Never a partial document.
//
// Reset: an index whose checkpoint document or whole mark (id 2^63+1, written
// only by begin_snapshot and begin_rebuild; document_id.h) is gone (TRUNCATE
// RTINDEX, searchd restarted without its data) makes apply() throw
// SinkWasReset before anything of the batch is written. A TRUNCATE that lands
// while a batch's transaction is open loses the index's other documents but
// not that batch's: the mark is what still tells the next batch; load_checkpoint() reports no position when any
// index lost it, so the whole sink is rebuilt (pipeline/sink_rebuild.h).
//
// Schema: the first write to an index DESCRIBEs it; a missing field or attribute
// (an ALTER TABLE ADD COLUMN at the source, say) is Error::config naming the
// index and giving the sphinx.conf line and the ALTER statement to add.
//
// Connects lazily; a lost connection throws Error::transient and the next call
// reconnects. Used from one thread at a time (core/sink.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sink.h"
#include "sink/manticore/checkpoint_text.h"
#include "sink/manticore/document_layout.h"
#include "sink/manticore/index_gate.h"
#include "sink/manticore/manticore_config.h"
#include "sink/manticore/sphinxql_connection.h"
#include "sink/manticore/sphinxql_url.h"

namespace sluice {

class ManticoreSink final : public Sink, public SnapshotTarget, public RebuildTarget, public RowStore, public VerifyTarget {
 public:
  // Parses the url (Error::config naming the sink); does not connect.
  explicit ManticoreSink(const ManticoreSinkConfig& config, SphinxqlConnection::Options options = {});
  ~ManticoreSink() override;
  ManticoreSink(const ManticoreSink&) = delete;
  ManticoreSink& operator=(const ManticoreSink&) = delete;

  const std::string& name() const override { return config_.name; }
  Durability durability() const override { return Durability::kCheckpointAtomic; }
  // Only the tables listed in [[sinks.tables]] have an index.
  bool holds_table(const std::string& table) const override { return config_.table_config(table) != nullptr; }
  SnapshotTarget* snapshot_target() override { return this; }
  RebuildTarget* rebuild_target() override { return this; }
  RowStore* row_store() override { return this; }
  VerifyTarget* verify_target() override { return this; }

  SinkCheckpoint load_checkpoint() override;
  void apply(const Batch& batch) override;
  void probe() override;
  SinkTotals totals() const override { return totals_; }

  void begin_snapshot(const std::string& slot, const Position& snapshot_at, const std::vector<std::string>& tables) override;
  void finish_snapshot(const std::string& slot, const Position& snapshot_at) override;
  void start_without_snapshot(const std::string& slot, const Position& start) override;
  void begin_rebuild(const std::string& slot, const std::optional<Position>& copy_point) override;
  void finish_rebuild(const Position& copy_point, const std::vector<std::string>& tables) override;

  // RowStore: the shapes live in every index's checkpoint document.
  std::map<std::string, std::string> load_table_shapes() override;
  void store_table_shape(const std::string& table, const std::string& shape) override;
  uint64_t remove_rows_older_than(const std::string& table, const Position& since) override;

  // VerifyTarget: key = "index:id"; canonical = document_layout.h's.
  Expected expected_for(const RelationPtr& relation, const std::vector<Value>& row) override;
  std::vector<std::optional<std::string>> read_canonical(const std::string& table,
                                                         const std::vector<Expected>& expected) override;
  std::vector<Stored> read_stored(const std::string& table, const std::vector<RowRef>& rows) override;
  std::optional<Position> read_applied_position() override;
  void scan_rows(const std::string& table,
                 const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& visit) override;

  // What the last successful apply() did (for logs and tests).
  struct ApplyStats {
    size_t replayed = 0;  // changes at or before an index's checkpoint: not sent
    size_t written = 0;   // documents replaced or deleted
    size_t skipped = 0;   // changes skipped by the per-document version guard
  };
  const ApplyStats& last_apply() const { return last_apply_; }

 private:
  struct IndexState;
  struct PendingDocument;
  struct IndexPlan;

  SphinxqlConnection& connection();
  template <typename F>
  auto with_connection(F&& f);

  IndexState& state_of_index(const std::string& index);
  IndexState* state_of_table(const std::string& table);
  // nullptr when the relation's table is not routed to this sink.
  const DocumentLayout* layout_for(const RelationPtr& relation);
  std::optional<CheckpointState> read_checkpoint(SphinxqlConnection& conn, IndexState& index);
  void write_checkpoint(SphinxqlConnection& conn, IndexState& index, const CheckpointState& state);
  std::map<int64_t, StoredDocument> read_documents(SphinxqlConnection& conn, const std::string& index,
                                                   const std::string& columns, const std::vector<int64_t>& ids);
  void plan_change(const Change& change, const DocumentLayout& layout, IndexPlan& plan);
  void write_plan(SphinxqlConnection& conn, const Batch& batch, IndexState& index, IndexPlan& plan);
  // Each index's checkpoint set to `make(stored)`.
  // `mark_whole`: also (re)write each index's whole mark (document_id.h), in
  // the same transaction: only where the index is about to be filled whole.
  void rewrite_checkpoints(const std::function<CheckpointState(const std::optional<CheckpointState>&)>& make,
                           bool mark_whole = false);
  void write_whole_mark(SphinxqlConnection& conn, IndexState& index);

  ManticoreSinkConfig config_;
  SphinxqlUrl url_;
  SphinxqlConnection::Options options_;
  std::string context_;  // "search sink 'NAME'"
  std::unique_ptr<SphinxqlConnection> connection_;
  std::map<std::string, std::unique_ptr<IndexState>> indexes_;  // by index name, of every routed table
  std::unordered_map<const Relation*, std::unique_ptr<DocumentLayout>> layouts_;  // nullptr: not routed
  std::unordered_map<std::string, const DocumentLayout*> layout_by_table_;
  ApplyStats last_apply_;
  SinkTotals totals_;
};

}  // namespace sluice
