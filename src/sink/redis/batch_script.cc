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
// missing TOAST source found half-way must not leave half a batch behind.
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

const std::string_view kDeadLetterScript = lua::kDeadLetter;

const std::string_view kFinishSnapshotScript = lua::kFinishSnapshot;

const std::string_view kBeginRebuildScript = lua::kBeginRebuild;

const std::string_view kFinishRebuildScript = lua::kFinishRebuild;

const std::string_view kStartWithoutSnapshotScript = lua::kStartWithoutSnapshot;


namespace {
constexpr size_t kOpCountIndex = 3 + 8;  // EVALSHA sha 0, then ARGV[9]
}  // namespace

BatchArgs::BatchArgs(const Header& h) : header_(h) {
  argv_ = {"EVALSHA", "", "0",
           "1", h.sink, h.prefix, h.mode, h.format, h.expect_checkpoint ? "1" : "0",
           h.expected, h.checkpoint, "0", h.stream_maxlen};
}

void BatchArgs::push(std::string value) {
  bytes_ += value.size() + 16;
  argv_.push_back(std::move(value));
}

void BatchArgs::upsert_json(const std::string& table, std::string version, std::string id_new, std::string id_old,
                            std::string new_key, std::string old_key, std::vector<std::string> segments,
                            std::vector<std::string> toast_tokens) {
  if (segments.size() != toast_tokens.size() + 1) {
    throw Error::internal("upsert_json: " + std::to_string(segments.size()) + " segments for " +
                          std::to_string(toast_tokens.size()) + " TOAST columns");
  }
  push("U");
  push(table);
  push(std::move(version));
  push(std::move(id_new));
  push(std::move(id_old));
  push(std::move(new_key));
  push(std::move(old_key));
  push(std::to_string(toast_tokens.size()));
  push(std::move(segments[0]));
  for (size_t i = 0; i < toast_tokens.size(); ++i) {
    push(std::move(toast_tokens[i]));
    push(std::move(segments[i + 1]));
  }
  ++ops_;
}

void BatchArgs::upsert_hash(const std::string& table, std::string version, std::string id_new, std::string id_old,
                            std::string new_key, std::string old_key,
                            std::vector<std::pair<std::string, std::string>> fields,
                            std::vector<std::string> toast_fields) {
  push("H");
  push(table);
  push(std::move(version));
  push(std::move(id_new));
  push(std::move(id_old));
  push(std::move(new_key));
  push(std::move(old_key));
  push(std::to_string(fields.size()));
  for (auto& [field, value] : fields) {
    push(std::move(field));
    push(std::move(value));
  }
  push(std::to_string(toast_fields.size()));
  for (auto& field : toast_fields) push(std::move(field));
  ++ops_;
}

void BatchArgs::remove(const std::string& table, std::string version, std::string identity, std::string old_key) {
  push("D");
  push(table);
  push(std::move(version));
  push(std::move(identity));
  push(std::move(old_key));
  ++ops_;
}

void BatchArgs::truncate(const std::string& table, std::string version) {
  push("T");
  push(table);
  push(std::move(version));
  ++ops_;
}

void BatchArgs::invalidate(std::vector<std::string> keys) {
  push("K");
  push(std::to_string(keys.size()));
  for (auto& key : keys) push(std::move(key));
  ++ops_;
}

void BatchArgs::stream(std::string stream_key, const std::string& table,
                       std::vector<std::pair<std::string, std::string>> fields) {
  push("S");
  push(std::move(stream_key));
  push(table);
  push(std::to_string(fields.size()));
  for (auto& [field, value] : fields) {
    push(std::move(field));
    push(std::move(value));
  }
  ++ops_;
}

const std::vector<std::string>& BatchArgs::command(const std::string& sha) {
  argv_[1] = sha;
  argv_[kOpCountIndex] = std::to_string(ops_);
  return argv_;
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
