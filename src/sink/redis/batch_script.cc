#include "sink/redis/batch_script.h"

#include <charconv>

#include "core/error.h"
#include "sink/redis/lua_scripts.h"
#include "sink/redis/redis_connection.h"

namespace sluice {

// The scripts live in lua/*.lua, embedded at build time (cmake/embed_lua.cmake
// writes sink/redis/lua_scripts.h). Both batch scripts start with the position
// order (lua/position_order.lua: pos_cmp, which every script that compares
// positions starts with) and the one prelude, lua/batch_prelude.lua: the ARGV
// header (batch_script.h), the shared helpers, and the fence every batch passes
// first (the checkpoint key is a hash, and exists when the sink expects it to).

// Phase 1 reads and validates every op through an overlay of the writes planned
// so far (later ops of a batch see the effect of earlier ones) and raises before
// anything is written: Redis does not roll a script back, so a WRONGTYPE or a
// missing TOAST source found half-way must not leave half a batch behind. The
// script reads no JSON: a JSON document that keeps unchanged TOAST values from
// the stored one is spliced in C++ (plain_batch.h, with json_members.h), and
// such a batch never reaches the script.
// Phase 2 writes each key's final content, in bulk (MSET, DEL, one HSET per
// index and chunk), then moves the checkpoint. Both phases make as few
// redis.call()s as they can: a call costs several times the command behind it,
// and this script is most of Redis' time (docs/benchmarks.md).
const std::string kBatchScriptText =
    std::string(lua::kPositionOrder) + std::string(lua::kBatchPrelude) + std::string(lua::kBatch);
const std::string_view kBatchScript = kBatchScriptText;

// Snapshot rows of an upsert sink, the bulk of an initial snapshot: the same
// ARGV layout, but only U ops without TOAST and H ops (inserts), every one at
// the snapshot's own version (snapshot_at, stored by begin_snapshot), into
// tables that begin_snapshot() has just cleared and that nothing else writes to
// until the snapshot is done (`verify --repair` is refused meanwhile) — so no
// version guard, no overlay, no TOAST splicing, and no Lua work per row beyond
// gathering the arguments of a few bulk calls: the targets' types (MGET /
// EXISTS; TYPE only for a key that exists and is not a string), then MSET (or
// DEL + HSET), then one HSET per index and chunk. A retried chunk writes the
// same rows again. This is most of the snapshot's time in Redis
// (docs/benchmarks.md), so it does as little as it can.
const std::string kSnapshotRowsScriptText =
    std::string(lua::kPositionOrder) + std::string(lua::kBatchPrelude) + std::string(lua::kSnapshotRows);
const std::string_view kSnapshotRowsScript = kSnapshotRowsScriptText;

const std::string_view kBeginSnapshotScript = lua::kBeginSnapshot;

const std::string kDeadLetterScriptText = std::string(lua::kPositionOrder) + std::string(lua::kDeadLetter);
const std::string_view kDeadLetterScript = kDeadLetterScriptText;

const std::string_view kFinishSnapshotScript = lua::kFinishSnapshot;

const std::string_view kBeginRebuildScript = lua::kBeginRebuild;

const std::string_view kFinishRebuildScript = lua::kFinishRebuild;

const std::string_view kStartWithoutSnapshotScript = lua::kStartWithoutSnapshot;


std::string BatchPlan::Header::checkpoint_word() const {
  switch (kind) {
    case BatchKind::kStream: return checkpoint;
    case BatchKind::kSnapshot: return "";
    case BatchKind::kRebuild: return "rebuild:" + copy_point;
    case BatchKind::kRepair: return "repair";
  }
  throw Error::internal("unknown batch kind");
}

void BatchPlan::add(Op op) {
  if (const auto* u = std::get_if<UpsertJson>(&op)) {
    if (u->segments.size() != u->toast_tokens.size() + 1) {
      throw Error::internal("upsert_json: " + std::to_string(u->segments.size()) + " segments for " +
                            std::to_string(u->toast_tokens.size()) + " TOAST columns");
    }
    if (!u->toast_tokens.empty()) {
      if (header_.kind != BatchKind::kStream) {
        throw Error::internal("upsert_json: unchanged TOAST values in a " + std::string(to_string(header_.kind)) +
                              " batch (rows read from the source are whole)");
      }
      splices_ = true;
    }
  }
  if (std::holds_alternative<Truncate>(op)) truncates_ = true;
  ops_.push_back(std::move(op));
}

namespace {

// Writes the ARGV of one op (batch_script.h's layout) as views.
class ArgvWriter {
 public:
  ArgvWriter(std::vector<std::string_view>& argv, std::deque<std::string>& scratch) : argv_(argv), scratch_(scratch) {}

  void operator()(const BatchPlan::UpsertJson& u) {
    if (!u.toast_tokens.empty()) {
      throw Error::internal("a JSON document that keeps unchanged TOAST values from the stored one is spliced by "
                            "the MULTI/EXEC path (plain_batch.h), not by the batch script");
    }
    put("U"), put(u.table), put(u.version), put(u.id_new), put(u.id_old), put(u.new_key), put(u.old_key);
    put(u.segments[0]);
  }
  void operator()(const BatchPlan::UpsertHash& h) {
    put("H"), put(h.table), put(h.version), put(h.id_new), put(h.id_old), put(h.new_key), put(h.old_key);
    count(h.fields.size());
    for (const auto& [field, value] : h.fields) put(field), put(value);
    count(h.toast_fields.size());
    for (const std::string& field : h.toast_fields) put(field);
  }
  void operator()(const BatchPlan::Remove& d) { put("D"), put(d.table), put(d.version), put(d.identity), put(d.old_key); }
  void operator()(const BatchPlan::Truncate& t) { put("T"), put(t.table), put(t.version); }
  void operator()(const BatchPlan::Invalidate& k) {
    put("K");
    count(k.keys.size());
    for (const std::string& key : k.keys) put(key);
  }
  void operator()(const BatchPlan::StreamEntry& e) {
    put("S"), put(e.stream_key), put(e.table);
    count(e.fields.size());
    for (const auto& [field, value] : e.fields) put(field), put(value);
  }

  void put(std::string_view value) { argv_.push_back(value); }
  // A number, kept in `scratch` (a deque: its strings never move).
  void count(size_t n) { argv_.push_back(scratch_.emplace_back(std::to_string(n))); }
  void text(std::string value) { argv_.push_back(scratch_.emplace_back(std::move(value))); }

 private:
  std::vector<std::string_view>& argv_;
  std::deque<std::string>& scratch_;
};

}  // namespace

std::vector<std::string_view> BatchPlan::script_command(const std::string& sha, std::deque<std::string>& scratch) const {
  std::vector<std::string_view> argv;
  argv.reserve(13 + ops_.size() * 9);
  ArgvWriter w(argv, scratch);
  w.put("EVALSHA"), w.put(sha), w.put("0");
  w.put("2");  // [1] layout version
  w.put(header_.sink), w.put(header_.prefix), w.put(to_string(header_.mode));
  w.put(header_.format == DocumentFormat::kJson ? "json" : "hash");
  w.put(header_.expect_checkpoint ? "1" : "0");
  w.put(header_.expected);
  w.text(header_.checkpoint_word());
  w.count(ops_.size());
  if (header_.stream_maxlen) {
    w.count(*header_.stream_maxlen);
  } else {
    w.put("");
  }
  for (const Op& op : ops_) std::visit(w, op);
  return argv;
}

BatchOutcome parse_batch_reply(const RedisReply& reply) {
  auto bad = [&] { return Error::protocol("unexpected reply from the batch script"); };
  if (reply.type() != RedisReply::Type::kArray || reply.size() != 3) throw bad();
  BatchOutcome outcome;
  const std::string_view status = reply.at(0).str();
  if (status == "already_applied") {
    outcome.already_applied = true;
  } else if (status != "applied") {
    throw bad();
  }
  if (reply.at(1).type() != RedisReply::Type::kInteger || reply.at(2).type() != RedisReply::Type::kInteger) {
    throw bad();
  }
  outcome.applied = static_cast<size_t>(reply.at(1).integer());
  outcome.skipped = static_cast<size_t>(reply.at(2).integer());
  return outcome;
}

}  // namespace sluice
