// The Lua script that applies one batch of a Redis sink together with the sink's
// checkpoint (EVALSHA: Redis runs a script atomically, so the batch and its
// checkpoint become visible together or not at all), and the typed plan of a
// batch (BatchPlan) that its ARGV is written from.
//
// ARGV layout (numkeys = 0: the keys are computed from the data and the index, so
// this needs a standalone Redis, not Redis Cluster):
//   [1]  layout version ("2")
//   [2]  sink name (for messages)
//   [3]  state prefix P (checkpoint P:checkpoint, index P:index:<schema.table>)
//   [4]  mode: "upsert" | "invalidate" | "stream"
//   [5]  format: "json" | "hash"
//   [6]  "1" when P:checkpoint must exist (the sink has loaded or written it)
//   [7]  the position the sink expects in P:checkpoint ("" = none)
//   [8]  the batch's checkpoint ("" = snapshot rows: needs snapshot=in_progress;
//        "repair" = rows rewritten by `sluice verify --repair`; "rebuild:<pos>" =
//        rows copied by the rebuild at <pos>: needs P:checkpoint rebuild=<pos>)
//   [9]  number of ops
//   [10] stream MAXLEN ("" = unbounded)
//   [11...] the ops, each a code followed by its fields:
//     U table version id_new id_old new_key old_key document
//         upsert a whole JSON document (one that keeps unchanged TOAST values
//         from the stored document is applied by plain_batch.h instead: the
//         script reads no JSON)
//     H table version id_new id_old new_key old_key nfield {field value}*nfield
//         ntoast {field}*ntoast
//         upsert a hash (rewritten whole); toast fields are kept from the old hash
//     D table version identity old_key        delete a row (upsert mode)
//     T table version                         truncate (upsert mode): DEL every key in the index
//     K nkey {key}*nkey                       invalidate: DEL the keys
//     S stream_key table nfield {field value}*nfield    XADD
//   Fields: as BatchPlan's below.
// Reply: {"applied" | "already_applied", ops applied, ops skipped by the version guard}.
// Error replies start with SLUICE_RESET (the checkpoint is gone, or went back
// behind the one this sink wrote: writes Redis acknowledged were lost; SinkWasReset),
// SLUICE_WAIT (an unchanged TOAST value of a row a rebuild has not copied yet:
// retry later), SLUICE_STATE, SLUICE_INPUT or SLUICE_INTERNAL (mapped to the
// Error kinds by the sink), or are Redis' own errors.
// While P:checkpoint has a field rebuild=<pos> (a rebuild after a reset copies
// rows at <pos>), deletes and truncates newer than <pos> leave tombstones in
// P:tomb:<schema.table> (identity or "truncate" -> version) that copied rows obey.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/batch.h"
#include "sink/redis/redis_config.h"

namespace sluice {

class RedisReply;

extern const std::string_view kBatchScript;
// Snapshot rows of an upsert sink (checkpoint "" and mode "upsert"; U ops
// without TOAST and H ops only, every one at the version snapshot_at): the same
// ARGV and reply, a lean path for tables begin_snapshot() has cleared (no
// version guard: see Sink::begin_snapshot).
extern const std::string_view kSnapshotRowsScript;

// Small scripts for the checkpoint lifecycle. KEYS[1] = P:checkpoint.
// ARGV: slot, sink name, the snapshot's position (its rows' version, kept in
// field snapshot_at while the snapshot is in progress).
extern const std::string_view kBeginSnapshotScript;
// ARGV: position, slot, sink name. Fails unless snapshot=in_progress.
extern const std::string_view kFinishSnapshotScript;
// on_error = "dead_letter": KEYS = {checkpoint, dead-letter stream};
// ARGV = {expected position, new position, sink name, field, value, ...}.
// Fenced like a batch; XADDs the entry, moves the checkpoint past the change and
// counts it (checkpoint field dead_letters), all at once. Returns 1, or 0 when
// the checkpoint is already there (an earlier attempt was applied).
extern const std::string_view kDeadLetterScript;
// ARGV: position, slot.
extern const std::string_view kStartWithoutSnapshotScript;
// Rebuild after a reset (core/sink.h). ARGV: position ("" = none), slot, copy
// point ("" = none), sink name. Stores the checkpoint again.
extern const std::string_view kBeginRebuildScript;
// ARGV: copy point, sink name, state prefix, tables... Fenced on the copy point;
// ends the rebuild and drops the tables' tombstones.
extern const std::string_view kFinishRebuildScript;

// One batch of a Redis sink as typed ops: the one plan both write paths are
// made from. script_command() lays it out as the ARGV above for the batch
// script; the plain MULTI/EXEC path (plain_batch.h) reads the ops themselves.
// A plan that splices_stored_json() can only take the plain path.
// Fields: version = Position::encode() of the change; id_* = encode_identity()
// ("" = none); new_key "" = take the key from the row's index entry (a key
// column is unchanged TOAST); old_key = key rendered from the old tuple, "" when
// there is none or it cannot be rendered.
class BatchPlan {
 public:
  struct Header {
    std::string sink;
    std::string prefix;
    SinkMode mode = SinkMode::kUpsert;
    DocumentFormat format = DocumentFormat::kJson;
    bool expect_checkpoint = false;
    std::string expected;      // "" = none
    BatchKind kind = BatchKind::kStream;
    std::string checkpoint;    // kStream: the batch's checkpoint
    std::string copy_point;    // kRebuild: the rebuild's copy point
    std::optional<size_t> stream_maxlen;
    // ARGV[8]: the checkpoint, "" (snapshot rows), "repair" or "rebuild:<pos>".
    std::string checkpoint_word() const;
  };
  // U: a JSON document, segments[0] tok1-value segments[1] ... where tok_i is
  // the JSON key token of an unchanged TOAST column kept from the stored one.
  struct UpsertJson {
    std::string table, version, id_new, id_old, new_key, old_key;
    std::vector<std::string> segments;
    std::vector<std::string> toast_tokens;
  };
  // H: a hash, rewritten whole; toast fields are kept from the stored hash.
  struct UpsertHash {
    std::string table, version, id_new, id_old, new_key, old_key;
    std::vector<std::pair<std::string, std::string>> fields;
    std::vector<std::string> toast_fields;
  };
  struct Remove {  // D (upsert mode)
    std::string table, version, identity, old_key;
  };
  struct Truncate {  // T (upsert mode): every key in the table's index
    std::string table, version;
  };
  struct Invalidate {  // K: DEL the keys
    std::vector<std::string> keys;
  };
  struct StreamEntry {  // S: XADD
    std::string stream_key, table;
    std::vector<std::pair<std::string, std::string>> fields;
  };
  using Op = std::variant<UpsertJson, UpsertHash, Remove, Truncate, Invalidate, StreamEntry>;

  explicit BatchPlan(Header header) : header_(std::move(header)) {}

  // Throws Error::internal when segments do not match toast_tokens, or a
  // batch that is not a stream batch keeps TOAST values (rows read from the
  // source are whole).
  void add(Op op);

  size_t op_count() const { return ops_.size(); }
  // True when a U op keeps unchanged TOAST values from the stored JSON document.
  bool splices_stored_json() const { return splices_; }
  bool has_truncate() const { return truncates_; }
  const Header& header() const { return header_; }
  const std::vector<Op>& ops() const { return ops_; }

  // The script's command, EVALSHA <sha> 0 ARGV...: views into this plan and into
  // `scratch` (the counts written as text), valid while both live unchanged.
  std::vector<std::string_view> script_command(const std::string& sha, std::deque<std::string>& scratch) const;

 private:
  Header header_;
  std::vector<Op> ops_;
  bool splices_ = false;
  bool truncates_ = false;
};

struct BatchOutcome {
  bool already_applied = false;
  size_t applied = 0;
  size_t skipped = 0;
};
// Throws Error::protocol when the reply does not have the documented shape.
BatchOutcome parse_batch_reply(const RedisReply& reply);

}  // namespace sluice
