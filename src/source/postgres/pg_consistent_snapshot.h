// PostgreSQL's consistent snapshot (core/consistent_snapshot.h): the snapshot a
// logical slot exported when it was created, at the slot's consistent point.
// Tables are described and cut into primary-key ranges on a connection of the
// plan's own (pg::split_points; a table never analyzed is counted so progress
// has a total); each reader imports the snapshot on its own connection
// (pg::SnapshotReader) and describes its tables there (RelationCatalog).
//
// The exported snapshot is importable only while the replication connection that
// created the slot is open and idle: for the initial snapshot the source keeps
// it so while the copy runs; a copy point (open_copy_point) owns its temporary
// slot's connection, so the snapshot lives as long as the object.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "core/consistent_snapshot.h"
#include "source/postgres/catalog.h"
#include "source/postgres/lsn.h"
#include "source/postgres/pg_connection.h"

namespace sluice::pg {

class PgConsistentSnapshot final : public ConsistentSnapshot {
 public:
  // `snapshot_name`: exported by the slot created at `consistent_point`.
  // `holder`: the replication connection that must stay open for the export (or
  // none when the caller keeps it open).
  PgConsistentSnapshot(std::string dsn, std::string snapshot_name, Lsn consistent_point,
                       PgConnection holder = PgConnection());

  // A temporary slot's snapshot, for a copy while streaming goes on (a sink
  // rebuild): the slot is named after `slot` and goes with this object.
  static std::unique_ptr<PgConsistentSnapshot> open_copy_point(const std::string& dsn, const std::string& slot);

  const Position& at() const override { return at_; }
  SnapshotPlan plan(const std::vector<std::string>& tables, size_t workers, size_t chunk_rows) override;
  std::unique_ptr<SnapshotPartReader> open_reader() override;

  // The table as plan() described it (Error::internal for one it did not).
  TableInfo table(const std::string& name) const;

 private:
  std::string dsn_;
  std::string snapshot_name_;
  Position at_;
  PgConnection holder_;
  mutable std::mutex mutex_;
  std::map<std::string, TableInfo> tables_;  // by "schema.table", guarded by mutex_
};

}  // namespace sluice::pg
