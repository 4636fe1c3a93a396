// The Redis sink: keeps a Redis database in step with the source tables
// (docs: the [[sinks]] section of the configuration reference).
//
// Modes (RedisSinkConfig::mode):
//   upsert      one document per row under the table's key template, as a JSON
//               string (format = "json": the row as to_jsonb() gives it) or a hash
//               (format = "hash": one field per non-null column);
//   invalidate  every change DELs the row's key(s): the application re-reads them;
//   stream      every change is XADDed to a stream (key template with {schema},
//               {table}) with fields op, table, key, pos, lsn, xid, commit_time,
//               old, new.
//
// State, under P = RedisSinkConfig::state_prefix (default "sluice:<name>"):
//   P:checkpoint           hash {position, slot, snapshot = in_progress | done}
//   P:checkpoint           also rebuild=<position> while a rebuild after a reset
//                          copies rows (on_reset = "rebuild", core/sink.h)
//   P:tomb:<schema.table>  (upsert, during a rebuild) deletes newer than the copy
//   P:index:<schema.table> (upsert) hash: row identity -> "<version> <redis key>",
//                          version = Position::encode() of the last change applied
//                          to the row. It finds the key of a row whose key template
//                          uses non-key columns (deletes carry only the key), and it
//                          is the per-row version guard: a change not newer than
//                          the stored version is skipped (invariant 2).
//
// Every batch is ONE atomic step — a WATCH/MULTI/EXEC of plain commands for the
// common streaming batch (plain_batch.h), else one EVALSHA of a script in
// batch_script.h — which checks that P:checkpoint is where this sink left it
// (fencing), applies all ops and moves the checkpoint: after a crash the
// checkpoint says exactly which changes are in Redis. P:checkpoint also has
// snapshot_at=<position> while the initial snapshot runs (its rows' version).
// Changes at or before the checkpoint the sink last loaded or wrote are not sent at
// all (a replay). Unchanged TOAST values are copied from the stored document by
// the script, byte for byte (invariant 5).
//
// Connects lazily; a lost connection throws Error::transient and the next call
// reconnects (SinkRunner retries the same batch, which the checkpoint makes
// idempotent). Used from one thread at a time (core/sink.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/sink.h"
#include "format/key_template.h"
#include "sink/redis/key_space_scan.h"
#include "sink/redis/redis_config.h"
#include "sink/redis/redis_connection.h"
#include "sink/redis/redis_url.h"

namespace sluice {

class BatchPlan;

class RedisSink final : public Sink,
                        public SnapshotTarget,
                        public RebuildTarget,
                        public RowStore,
                        public VerifyTarget,
                        public KeySpaceTarget {
 public:
  // Parses the url and the key templates (Error::config naming the sink); does
  // not connect.
  explicit RedisSink(const RedisSinkConfig& config, RedisConnection::Options options = {});
  ~RedisSink() override;
  RedisSink(const RedisSink&) = delete;
  RedisSink& operator=(const RedisSink&) = delete;

  const std::string& name() const override { return config_.name; }
  Durability durability() const override { return Durability::kCheckpointAtomic; }
  SnapshotTarget* snapshot_target() override { return this; }
  RebuildTarget* rebuild_target() override { return this; }
  // Upsert mode holds one document per row; invalidate and stream do not.
  RowStore* row_store() override { return config_.mode == SinkMode::kUpsert ? this : nullptr; }
  VerifyTarget* verify_target() override { return config_.mode == SinkMode::kUpsert ? this : nullptr; }
  KeySpaceTarget* key_space_target() override { return config_.mode == SinkMode::kUpsert ? this : nullptr; }
  SinkCheckpoint load_checkpoint() override;
  void apply(const Batch& batch) override;
  void begin_snapshot(const std::string& slot, const Position& snapshot_at, const std::vector<std::string>& tables) override;
  void finish_snapshot(const std::string& slot, const Position& snapshot_at) override;
  void start_without_snapshot(const std::string& slot, const Position& start) override;
  void begin_rebuild(const std::string& slot, const std::optional<Position>& copy_point) override;
  void finish_rebuild(const Position& copy_point, const std::vector<std::string>& tables) override;

  // What the last successful apply() did (for logs and tests).
  struct ApplyStats {
    bool already_applied = false;  // the store already had this batch's checkpoint
    size_t replayed = 0;           // changes at or before the checkpoint: not sent
    size_t applied = 0;            // ops written
    size_t skipped = 0;            // ops skipped by the per-row version guard
  };
  const ApplyStats& last_apply() const { return last_apply_; }
  SinkTotals totals() const override { return totals_; }
  void probe() override;

  // RowStore (core/sink.h), upsert mode. Shapes live in P:shapes (hash: table -> shape);
  // rows older than a re-sync are found by scanning P:index:<table>, each removed
  // (document and index entry) by a script that checks its version again.
  std::map<std::string, std::string> load_table_shapes() override;
  void store_table_shape(const std::string& table, const std::string& shape) override;
  uint64_t remove_rows_older_than(const std::string& table, const Position& since) override;

  const std::string& state_prefix() const { return prefix_; }
  // The key template of `table` ("schema.table"): its override, else the sink's.
  const KeyTemplate& key_template_for(const std::string& table) const override;

  // ---- VerifyTarget (core/sink.h), upsert mode ----
  // canonical: json, the document text; hash, the fields sorted by name, as
  // "field\x1fvalue\x1e" pairs. identity: the row's field in the table's index.
  Expected expected_for(const RelationPtr& relation, const std::vector<Value>& row) override;
  // One pipelined round trip.
  std::vector<std::optional<std::string>> read_canonical(const std::string& table,
                                                         const std::vector<Expected>& expected) override;
  // The stored form and then the index version, in one pipelined round trip.
  std::vector<Stored> read_stored(const std::string& table, const std::vector<RowRef>& rows) override;
  // Does not change what load_checkpoint() loaded.
  std::optional<Position> read_applied_position() override;
  // The table's index, with HSCAN.
  void scan_rows(const std::string& table,
                 const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& visit) override;
  // The same, under its older name (verify's callers).
  void scan_index(const std::string& table,
                  const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& visit) {
    scan_rows(table, visit);
  }

  // ---- KeySpaceTarget (core/key_space.h; the guard's contract in key_space_scan.h) ----
  // The index field of the row of `relation` with `values` (indexed like its
  // columns); nullopt when an identity column is not text in `values`.
  std::optional<std::string> identity_from(const RelationPtr& relation, const std::vector<Value>& values) override;
  // Visits, in batches, every key matching `glob` (SCAN MATCH, cursor-based: a
  // key present for the whole scan is visited at least once, possibly twice;
  // memory stays flat), leaving out keys under state_prefix() + ":".
  void scan_keys(const std::string& glob, const std::function<void(const std::vector<std::string>&)>& visit) override;
  // For each key, whether it exists and whether an owner's index entry names it,
  // in one pipelined round trip.
  std::vector<KeyProbe> probe_keys(const std::vector<UnownedKey>& keys) override;
  // The checkpoint's stored position, as text ("" when there is none): the
  // token remove_unowned_keys() compares for keys that need a quiet sink.
  std::string checkpoint_token() override;
  // Deletes each key unless it is owned by now, in one atomic script
  // (key_space_scan.h). `token`: checkpoint_token() read before the source was
  // asked about these keys.
  RemovedKeys remove_unowned_keys(const std::vector<UnownedKey>& keys, const std::string& token) override;

 private:
  struct Route;

  const Route& route_for(const RelationPtr& relation);
  void apply_once(const Batch& batch);
  void dead_letter(const Change& change, const std::string& reason);
  void encode(const Change& change, const Route& route, bool snapshot_rows, BatchPlan& args,
              std::vector<std::string>& truncate_globs);
  void encode_upsert(const Change& change, const Route& route, BatchPlan& args);
  void encode_invalidate(const Change& change, const Route& route, BatchPlan& args,
                         std::vector<std::string>& truncate_globs);
  void encode_stream(const Change& change, const Route& route, bool snapshot_rows, BatchPlan& args);

  RedisConnection& connection();
  // Runs `f(connection)`; drops the connection when it throws Error::transient.
  template <typename F>
  auto with_connection(F&& f);
  std::string run_script(RedisConnection& conn, std::string_view script, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args, std::string_view what);
  [[noreturn]] void throw_script_error(RedisConnection& conn, std::string_view reply, std::string_view what) const;
  void scan_delete(RedisConnection& conn, const std::string& glob);
  void delete_indexed(RedisConnection& conn, const std::string& table);

  RedisSinkConfig config_;
  RedisUrl url_;
  RedisConnection::Options options_;
  std::string context_;  // "redis sink 'NAME'"
  std::string prefix_;
  std::string checkpoint_key_;
  KeyTemplate key_;
  KeyTemplate stream_;
  std::unordered_map<std::string, KeyTemplate> table_keys_;     // overrides
  std::unordered_map<std::string, KeyTemplate> table_streams_;  // overrides

  std::unique_ptr<RedisConnection> connection_;
  std::string batch_sha_;
  std::string snapshot_rows_sha_;

  // The checkpoint as this sink last loaded or wrote it (fencing).
  bool state_known_ = false;
  bool checkpoint_exists_ = false;
  std::optional<Position> expected_;

  std::unordered_map<const Relation*, std::unique_ptr<Route>> routes_;
  ApplyStats last_apply_;
  SinkTotals totals_;
};

// In the header so that the sink's other files (key_space_scan.cc) share it.
template <typename F>
auto RedisSink::with_connection(F&& f) {
  try {
    return f(connection());
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kTransient) connection_.reset();
    throw;
  }
}

}  // namespace sluice
