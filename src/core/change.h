// The unit that flows from a source to the sinks. A source produces Changes in
// commit order; every Change carries the Relation (table shape) it was decoded
// against, so a sink never needs the source's catalog.
//
// Values are the source's text of each value (PostgreSQL: its text output, with
// the session settings the source pins, source/postgres/pg_connection.h). A sink
// reads a value only through its column's type (Column::type,
// core/type_info.h), whose renderer the source supplies. A value may be
// "unchanged": the source did not send it because it did not change
// (PostgreSQL's unchanged TOAST, MariaDB's minimal row image); it must never be
// written as null or as a placeholder (invariant 5).
//
// Changes and Relations are immutable after construction and shared between the
// source thread and the sink threads through shared_ptr<const ...>.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/position.h"
#include "core/type_info.h"

namespace sluice {

enum class ValueKind : uint8_t { kNull, kText, kUnchangedToast };

struct Value {
  ValueKind kind = ValueKind::kNull;
  std::string text;  // set when kind == kText

  static Value null() { return {}; }
  static Value unchanged_toast() { return {ValueKind::kUnchangedToast, {}}; }
  static Value of(std::string t) { return {ValueKind::kText, std::move(t)}; }
  bool is_null() const { return kind == ValueKind::kNull; }
  bool is_text() const { return kind == ValueKind::kText; }
  bool is_unchanged_toast() const { return kind == ValueKind::kUnchangedToast; }
  bool operator==(const Value&) const = default;
};

struct Column {
  std::string name;
  // The source's own type id and modifier (PostgreSQL: atttypid, atttypmod),
  // for the source's use; sinks read `type`.
  uint32_t source_type_id = 0;
  int32_t source_type_modifier = -1;
  // Sent in the old row of every update and delete (PostgreSQL: part of the
  // replica identity); these columns identify the row the change is about.
  bool in_identity = false;
  bool in_primary_key = false;       // from the catalog; the document identity
  TypeInfoPtr type;                  // set by the source before changes flow
};

// What the old row of an update or a delete carries (PostgreSQL: the table's
// REPLICA IDENTITY; MariaDB: binlog_row_image).
enum class OldRow : uint8_t {
  kIdentity,  // the identity columns (Column::in_identity); the others are null
  kComplete,  // every column
  kNone,      // nothing: an update or delete of the table cannot be placed
};

struct Relation {
  // The source's own id of the table (PostgreSQL: its OID), for the source's use.
  uint64_t source_id = 0;
  std::string schema;
  std::string name;
  OldRow old_row = OldRow::kIdentity;
  std::vector<Column> columns;
  // Indexes into `columns` of the primary-key columns in the key's own order
  // (pg_index.indkey), which may differ from column order: PRIMARY KEY
  // (payment_date, payment_id) on a table whose payment_id comes first. Filled by
  // the source's catalog; empty when the table has no primary key (or when a
  // Relation was built by hand, in which case Column::in_primary_key in column
  // order is the key).
  std::vector<int> primary_key;
  // Column sets no two rows can share (the primary key among them), each by
  // column name in its key's order; filled by the source's catalog, empty for a
  // Relation built by hand or decoded from the stream alone.
  std::vector<std::vector<std::string>> unique_keys;

  // Whether a delete or an update carries the whole old row (not only its key).
  bool old_row_complete() const { return old_row == OldRow::kComplete; }

  std::string qualified_name() const { return schema + "." + name; }
  // Index of the column with this name, or -1.
  int column_index(std::string_view column_name) const;
};
using RelationPtr = std::shared_ptr<const Relation>;

enum class Op : uint8_t { kInsert, kUpdate, kDelete, kTruncate };
const char* to_string(Op op);

struct Change {
  Op op = Op::kInsert;
  RelationPtr relation;
  Position position;
  uint32_t xid = 0;
  std::chrono::system_clock::time_point commit_time;

  // Insert: new_values. Update: new_values, and old_values when the server sent
  // the old key or old row (primary key changed, or REPLICA IDENTITY FULL).
  // Delete: old_values (key columns, or the whole row with REPLICA IDENTITY FULL;
  // columns not sent are null). Truncate: neither. Vectors are indexed like
  // relation->columns.
  std::vector<Value> old_values;
  std::vector<Value> new_values;
  // An Insert that re-reads a row the table already had (a table re-sync after a
  // schema change or on request): an upsert of the row as it is at `position`,
  // not a change the database logged. Sinks that keep rows treat it like any
  // upsert (per-row version guard); event streams may label it.
  bool backfill = false;

  // Approximate memory held by this change, for byte budgets. Computed on the
  // first call and remembered: the queue (push and pop) and the runner ask for
  // it on the sinks' threads, and walking the values each time was 8 % of
  // sluice's CPU in a perf profile of bench/run.sh. Ask only once the change is
  // complete; a copy computes it again.
  size_t byte_size() const;

  // byte_size()'s memory (thread-safe: a relaxed atomic, 0 until computed).
  struct SizeCache {
    mutable std::atomic<size_t> bytes{0};
    SizeCache() = default;
    SizeCache(const SizeCache&) {}
    SizeCache& operator=(const SizeCache&) {
      bytes.store(0, std::memory_order_relaxed);
      return *this;
    }
  };
  SizeCache size_cache;
};
using ChangePtr = std::shared_ptr<const Change>;

}  // namespace sluice
