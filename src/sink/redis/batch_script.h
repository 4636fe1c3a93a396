// The Lua script that applies one batch of a Redis sink together with the sink's
// checkpoint (EVALSHA: Redis runs a script atomically, so the batch and its
// checkpoint become visible together or not at all), and the encoder of its ARGV.
//
// ARGV layout (numkeys = 0: the keys are computed from the data and the index, so
// this needs a standalone Redis, not Redis Cluster):
//   [1]  layout version ("1")
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
//     U table version id_new id_old new_key old_key ntoast seg0 {tok seg}*ntoast
//         upsert a JSON document: seg0 tok1-value seg1 ... where tok_i is the JSON
//         key token of an unchanged TOAST column whose raw value is taken from the
//         row's existing document
//     H table version id_new id_old new_key old_key nfield {field value}*nfield
//         ntoast {field}*ntoast
//         upsert a hash (rewritten whole); toast fields are kept from the old hash
//     D table version identity old_key        delete a row (upsert mode)
//     T table version                         truncate (upsert mode): DEL every key in the index
//     K nkey {key}*nkey                       invalidate: DEL the keys
//     S stream_key table nfield {field value}*nfield    XADD
//   Fields: version = Position::encode() of the change; id_* = encode_identity()
//   ("" = none); new_key "" = take the key from the row's index entry (a key
//   column is unchanged TOAST); old_key = key rendered from the old tuple, "" when
//   there is none or it cannot be rendered.
// Reply: {"applied" | "already_applied", ops applied, ops skipped by the version guard}.
// Error replies start with SLUICE_RESET (the checkpoint is gone: SinkWasReset),
// SLUICE_WAIT (an unchanged TOAST value of a row a rebuild has not copied yet:
// retry later), SLUICE_STATE, SLUICE_INPUT or SLUICE_INTERNAL (mapped to the
// Error kinds by the sink), or are Redis' own errors.
// While P:checkpoint has a field rebuild=<pos> (a rebuild after a reset copies
// rows at <pos>), deletes and truncates newer than <pos> leave tombstones in
// P:tomb:<schema.table> (identity or "truncate" -> version) that copied rows obey.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Primary-key values, each as "<byte length>:<text>", concatenated: unambiguous
// whatever the values contain.

class BatchArgs {
 public:
  struct Header {
    std::string sink;
    std::string prefix;
    std::string mode;
    std::string format;
    bool expect_checkpoint = false;
    std::string expected;    // "" = none
    std::string checkpoint;  // "" = snapshot rows
    std::string stream_maxlen;
  };
  explicit BatchArgs(const Header& header);

  void upsert_json(const std::string& table, std::string version, std::string id_new, std::string id_old,
                   std::string new_key, std::string old_key, std::vector<std::string> segments,
                   std::vector<std::string> toast_tokens);
  void upsert_hash(const std::string& table, std::string version, std::string id_new, std::string id_old,
                   std::string new_key, std::string old_key,
                   std::vector<std::pair<std::string, std::string>> fields,
                   std::vector<std::string> toast_fields);
  void remove(const std::string& table, std::string version, std::string identity, std::string old_key);
  void truncate(const std::string& table, std::string version);
  void invalidate(std::vector<std::string> keys);
  void stream(std::string stream_key, const std::string& table,
              std::vector<std::pair<std::string, std::string>> fields);

  size_t op_count() const { return ops_; }
  size_t byte_size() const { return bytes_; }
  const Header& header() const { return header_; }
  // The ops, each a code and its fields as laid out above (ARGV[11...]).
  std::vector<std::string>::const_iterator ops_begin() const { return argv_.begin() + kFirstOp; }
  std::vector<std::string>::const_iterator ops_end() const { return argv_.end(); }

  // The full command: EVALSHA <sha> 0 ARGV...
  const std::vector<std::string>& command(const std::string& sha);

 private:
  void push(std::string value);

  static constexpr size_t kFirstOp = 3 + 10;  // EVALSHA sha 0, then ARGV[1..10]
  Header header_;
  std::vector<std::string> argv_;
  size_t ops_ = 0;
  size_t bytes_ = 0;
};

struct BatchOutcome {
  bool already_applied = false;
  size_t applied = 0;
  size_t skipped = 0;
};
// Throws Error::protocol when the reply does not have the documented shape.
BatchOutcome parse_batch_reply(const RedisReply& reply);

}  // namespace sluice
