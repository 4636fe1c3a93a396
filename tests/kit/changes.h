// The test kit's change builders: relations, values, positions, changes and
// batches built by hand, for unit tests, the sink tests and the sink conformance
// suite. Positions and values are plain; relations resolve their column types
// from PostgreSQL's builtin types (source/postgres/pg_builtin_types.h), as the
// PostgreSQL source would.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/change.h"
#include "source/postgres/pg_builtin_types.h"
#include "source/postgres/pg_position.h"

namespace sluice::kit {

inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kJsonb = 3802;
inline constexpr uint32_t kNumeric = 1700;

// ---- building changes by hand -------------------------------------------------

inline Column column(const std::string& name, uint32_t oid, bool key = false) {
  Column c;
  c.name = name;
  c.source_type_id = oid;
  c.in_primary_key = key;
  c.in_identity = key;
  c.type = pg::builtin_type(oid);
  return c;
}

// public.users (id int4 pk, name text, payload jsonb, note text)
inline RelationPtr users() {
  auto r = std::make_shared<Relation>();
  r->source_id = 16384;
  r->schema = "public";
  r->name = "users";
  r->columns = {column("id", kInt4, true), column("name", kText), column("payload", kJsonb), column("note", kText)};
  return r;
}

// public.media (channel_id int4, media_id int4 pk, title text)
inline RelationPtr media() {
  auto r = std::make_shared<Relation>();
  r->source_id = 16390;
  r->schema = "public";
  r->name = "media";
  r->columns = {column("channel_id", kInt4), column("media_id", kInt4, true), column("title", kText)};
  return r;
}

inline Value T(const std::string& text) { return Value::of(text); }
inline const Value N = Value::null();
inline const Value U = Value::unchanged_toast();

// A PostgreSQL position (source/postgres/pg_position.h): the positions sinks see
// from the one source built, and what they store.
inline Position pos(uint64_t lsn, uint32_t index = 1) { return pg::position(pg::Lsn(lsn), index); }

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

}  // namespace sluice::kit
