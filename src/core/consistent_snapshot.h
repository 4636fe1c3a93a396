// A source's consistent snapshot as the copy reads it (pipeline/snapshot_copy.h:
// the initial snapshot, and a sink rebuild's copy): the data as of one position,
// with every change after it in the stream and every change before it in the
// copy, none twice. The source cuts the tables into parts that readers on
// several threads copy at once, each reader on its own connection, all under
// the same snapshot (PostgreSQL: an exported snapshot, primary-key ranges;
// source/postgres/pg_consistent_snapshot.h).
//
// The snapshot stays readable while the object lives; a reader is used by one
// thread. plan() and open_reader() may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/change.h"
#include "core/position.h"

namespace sluice {

struct SnapshotTable {
  std::string name;             // "schema.table"
  double estimated_rows = 0;    // for progress; counted when the source has no estimate
};

// One part of one table: the rows between two bounds the source chose (its own
// text; none: unbounded). Parts whose bounds meet cover the table exactly.
struct SnapshotPart {
  size_t table = 0;             // index into SnapshotPlan::tables
  size_t part = 0, parts = 1;   // this part's number among the table's parts
  std::optional<std::string> from, to;
};

struct SnapshotPlan {
  std::vector<SnapshotTable> tables;
  std::vector<SnapshotPart> parts;
};

class SnapshotPartReader {
 public:
  virtual ~SnapshotPartReader() = default;
  // Starts reading `part` of `plan`, in chunks of `chunk_rows` rows; returns the
  // table's relation (the shape of the rows it reads).
  virtual RelationPtr begin(const SnapshotPlan& plan, const SnapshotPart& part, size_t chunk_rows) = 0;
  // Replaces `rows` with the next chunk (values indexed like the relation's
  // columns); false, with `rows` empty, when the part has no more rows.
  virtual bool next_chunk(std::vector<std::vector<Value>>& rows) = 0;
};

class ConsistentSnapshot {
 public:
  virtual ~ConsistentSnapshot() = default;
  // The position of every row read from it: older than every change streamed
  // after the snapshot.
  virtual const Position& at() const = 0;
  // `tables` cut into parts for up to `workers` readers reading `chunk_rows`
  // rows at a time (a part is at least a few chunks).
  virtual SnapshotPlan plan(const std::vector<std::string>& tables, size_t workers, size_t chunk_rows) = 0;
  // A reader of this snapshot for one thread, with a connection of its own.
  virtual std::unique_ptr<SnapshotPartReader> open_reader() = 0;
};

}  // namespace sluice
