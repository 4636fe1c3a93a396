// Shared by the Redis sink tests: changes built by hand (relations, values,
// positions, batches) and a fixture with a real redis-server per test.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/error.h"
#include "format/builtin_types.h"
#include "harness/servers.h"
#include "sink/redis/redis_sink.h"

namespace sluice::redis_test {

using test::RedisClient;
using test::RedisServer;

inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kJsonb = 3802;
inline constexpr uint32_t kNumeric = 1700;

// ---- building changes by hand -------------------------------------------------

inline Column column(const std::string& name, uint32_t oid, bool key = false) {
  Column c;
  c.name = name;
  c.type_oid = oid;
  c.in_primary_key = key;
  c.in_replica_identity = key;
  c.type = builtin_type(oid);
  return c;
}

// public.users (id int4 pk, name text, payload jsonb, note text)
inline RelationPtr users() {
  auto r = std::make_shared<Relation>();
  r->oid = 16384;
  r->schema = "public";
  r->name = "users";
  r->columns = {column("id", kInt4, true), column("name", kText), column("payload", kJsonb), column("note", kText)};
  return r;
}

// public.media (channel_id int4, media_id int4 pk, title text)
inline RelationPtr media() {
  auto r = std::make_shared<Relation>();
  r->oid = 16390;
  r->schema = "public";
  r->name = "media";
  r->columns = {column("channel_id", kInt4), column("media_id", kInt4, true), column("title", kText)};
  return r;
}

inline Value T(const std::string& text) { return Value::of(text); }
inline const Value N = Value::null();
inline const Value U = Value::unchanged_toast();

inline Position pos(uint64_t lsn, uint32_t index = 1) { return Position{Lsn(lsn), index}; }

inline std::chrono::system_clock::time_point commit_time() {
  using namespace std::chrono;
  return sys_days(year(2024) / 5 / 1) + hours(12) + minutes(34) + seconds(56) + microseconds(123456);
}

inline ChangePtr make(Op op, const RelationPtr& rel, Position p, std::vector<Value> new_values,
               std::vector<Value> old_values = {}) {
  auto c = std::make_shared<Change>();
  c->op = op;
  c->relation = rel;
  c->position = p;
  c->xid = 777;
  c->commit_time = commit_time();
  c->new_values = std::move(new_values);
  c->old_values = std::move(old_values);
  return c;
}
inline ChangePtr ins(const RelationPtr& rel, Position p, std::vector<Value> v) { return make(Op::kInsert, rel, p, std::move(v)); }
inline ChangePtr upd(const RelationPtr& rel, Position p, std::vector<Value> v, std::vector<Value> old = {}) {
  return make(Op::kUpdate, rel, p, std::move(v), std::move(old));
}
inline ChangePtr del(const RelationPtr& rel, Position p, std::vector<Value> old) { return make(Op::kDelete, rel, p, {}, std::move(old)); }
inline ChangePtr trunc(const RelationPtr& rel, Position p) { return make(Op::kTruncate, rel, p, {}); }

// A batch whose checkpoint is its last change's position.
inline Batch batch(std::vector<ChangePtr> changes) { return Batch::stream(std::move(changes)); }
// Snapshot rows: no checkpoint.
inline Batch rows(std::vector<ChangePtr> changes) { return Batch::of(BatchKind::kSnapshot, std::move(changes)); }

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- fixture ------------------------------------------------------------------

class RedisSinkTest : public ::testing::Test {
 protected:
  explicit RedisSinkTest(bool appendonly = false) : redis_(appendonly), client_(redis_.port()) {}

  RedisSinkConfig config(SinkMode mode = SinkMode::kUpsert, DocumentFormat format = DocumentFormat::kJson) const {
    RedisSinkConfig c;
    c.name = "cache";
    c.url = redis_.url();
    c.mode = mode;
    c.format = format;
    c.script_max_ops = 0;  // the plain-command path wherever it applies (plain_batch.h)
    return c;
  }

  // A sink that follows "slot1" from 0/100, like a fresh start without snapshot.
  std::unique_ptr<RedisSink> started(const RedisSinkConfig& c) {
    auto sink = std::make_unique<RedisSink>(c);
    sink->start_without_snapshot("slot1", Lsn(0x100));
    return sink;
  }

  std::optional<std::string> hget(const std::string& key, const std::string& field) {
    return client_.command({"HGET", key, field}).at(0);
  }
  std::map<std::string, std::string> hgetall(const std::string& key) {
    auto flat = client_.command({"HGETALL", key});
    std::map<std::string, std::string> out;
    for (size_t i = 0; i + 1 < flat.size(); i += 2) out[*flat[i]] = *flat[i + 1];
    return out;
  }
  std::string checkpoint() { return hget("sluice:cache:checkpoint", "position").value_or("<none>"); }

  RedisServer redis_;
  RedisClient client_;
};

}  // namespace sluice::redis_test
