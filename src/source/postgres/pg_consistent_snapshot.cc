#include "source/postgres/pg_consistent_snapshot.h"

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "core/error.h"
#include "source/postgres/pg_position.h"
#include "source/postgres/relation_catalog.h"
#include "source/postgres/slot.h"
#include "source/postgres/snapshot_reader.h"

namespace sluice::pg {

namespace {

// A table is cut into parts of at least this many chunks, at most one per worker.
constexpr size_t kMinChunksPerPart = 4;

// Temporary slots of one process never share a name, even while PostgreSQL is
// still dropping the previous one.
std::string temporary_slot_name(const std::string& slot) {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}_rebuild_{}", slot.substr(0, 40), ++counter);
}

class PgPartReader final : public SnapshotPartReader {
 public:
  PgPartReader(const PgConsistentSnapshot& snapshot, const std::string& dsn, const std::string& snapshot_name)
      : snapshot_(snapshot), reader_(dsn, snapshot_name), catalog_(dsn) {}

  RelationPtr begin(const SnapshotPlan& plan, const SnapshotPart& part, size_t chunk_rows) override {
    const TableInfo table = snapshot_.table(plan.tables.at(part.table).name);
    RelationPtr relation = catalog_.describe(table);
    reader_.begin_table(table, chunk_rows, {}, SnapshotReader::KeyRange{part.from, part.to});
    return relation;
  }
  bool next_chunk(std::vector<std::vector<Value>>& rows) override { return reader_.next_chunk(rows); }

 private:
  const PgConsistentSnapshot& snapshot_;
  SnapshotReader reader_;
  RelationCatalog catalog_;
};

}  // namespace

PgConsistentSnapshot::PgConsistentSnapshot(std::string dsn, std::string snapshot_name, Lsn consistent_point,
                                           PgConnection holder)
    : dsn_(std::move(dsn)),
      snapshot_name_(std::move(snapshot_name)),
      at_(position(consistent_point)),
      holder_(std::move(holder)) {}

std::unique_ptr<PgConsistentSnapshot> PgConsistentSnapshot::open_copy_point(const std::string& dsn,
                                                                             const std::string& slot) {
  PgConnection replication = PgConnection::connect(dsn, PgConnection::Mode::kReplication);
  const CreatedSlot created = create_logical_slot(replication, temporary_slot_name(slot), /*temporary=*/true);
  return std::make_unique<PgConsistentSnapshot>(dsn, created.snapshot_name, created.consistent_point,
                                                std::move(replication));
}

SnapshotPlan PgConsistentSnapshot::plan(const std::vector<std::string>& tables, size_t workers, size_t chunk_rows) {
  SnapshotPlan plan;
  auto connection = PgConnection::connect(dsn_, PgConnection::Mode::kNormal);
  const size_t max_workers = std::max<size_t>(1, workers);
  for (const auto& name : tables) {
    TableInfo table = describe_table(connection, name);
    if (table.estimated_rows <= 0) {
      // Never analyzed: count, so progress has a real total.
      auto result = connection.exec("SELECT count(*) FROM " + connection.quote_qualified(table.schema, table.name));
      table.estimated_rows = std::stod(std::string(result.value(0, 0)));
    }
    const size_t index = plan.tables.size();
    plan.tables.push_back({table.schema + "." + table.name, table.estimated_rows});
    // A large table with a primary key is cut into parts the readers copy in
    // parallel, each under the same exported snapshot.
    const auto chunks = static_cast<size_t>(table.estimated_rows / static_cast<double>(std::max<size_t>(1, chunk_rows)));
    const size_t parts = std::min(max_workers, chunks / kMinChunksPerPart);
    const std::vector<std::string> points = split_points(connection, table, parts);
    std::optional<std::string> from;
    for (size_t i = 0; i <= points.size(); ++i) {
      SnapshotPart part{index, i, points.size() + 1, from, i < points.size() ? std::optional(points[i]) : std::nullopt};
      plan.parts.push_back(std::move(part));
      if (i < points.size()) from = points[i];
    }
    std::lock_guard lock(mutex_);
    tables_[plan.tables.back().name] = std::move(table);
  }
  return plan;
}

std::unique_ptr<SnapshotPartReader> PgConsistentSnapshot::open_reader() {
  return std::make_unique<PgPartReader>(*this, dsn_, snapshot_name_);
}

TableInfo PgConsistentSnapshot::table(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto found = tables_.find(name);
  if (found == tables_.end()) throw Error::internal("snapshot: table " + name + " was not planned");
  return found->second;
}

}  // namespace sluice::pg
