#include "pipeline/snapshot_copy.h"

#include <cstdio>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/retry.h"
#include "pipeline/progress_line.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/relation_catalog.h"
#include "source/postgres/snapshot_reader.h"

namespace sluice {

namespace {

struct Progress {
  std::atomic<uint64_t> rows{0};
  uint64_t estimated_total = 0;
  std::vector<std::atomic<double>*> table_rows;  // per table: sluice_snapshot_rows_done (or null)
  Health* health = nullptr;
};


// One table, or one part of a large one (parts are copied in parallel).
struct CopyTask {
  size_t table = 0;
  pg::SnapshotReader::KeyRange range;
  size_t part = 0, parts = 1;
};

// A table is cut into parts of at least this many chunks, at most one per worker.
constexpr size_t kMinChunksPerPart = 4;

class SnapshotWorker {
 public:
  SnapshotWorker(const Config& config, const SnapshotCopy& copy, const SinkFactory& make_sink,
                 std::atomic<bool>& finish, StopSignal& stop, Progress& progress)
      : config_(config),
        copy_(copy),
        position_(copy.snapshot_at),
        finish_(finish),
        stop_(stop),
        progress_(progress),
        reader_(config.source.dsn, copy.snapshot_name),
        catalog_(config.source.dsn) {
    for (const auto& sink_config : copy.sinks) {
      sinks_.push_back(make_sink(sink_config));
      // Connects, and lets the sink see that its snapshot is in progress.
      retry_transient(fmt::format("sink '{}'", sink_config.name), config.retry, stop,
                      [&] { sinks_.back()->load_checkpoint(); });
    }
  }

  void copy(const pg::TableInfo& table, const CopyTask& task) {
    RelationPtr relation = catalog_.describe(table);
    std::vector<bool> holds;
    for (const auto& sink : sinks_) holds.push_back(sink->holds_table(relation->qualified_name()));
    reader_.begin_table(table, config_.source.snapshot_chunk_rows, {}, task.range);
    // The next chunk is read while this one is written, so that the source and
    // the sinks work at the same time. (The reader is used by one thread at a
    // time: the fetch is joined before the reader is touched again, also when
    // writing throws — the future's destructor waits for it.)
    std::vector<std::vector<Value>> rows, next;
    bool more = reader_.next_chunk(rows);
    uint64_t copied = 0;
    while (more) {
      if (finish_.load() || stop_.requested()) throw StopRequested{};
      auto fetch = std::async(std::launch::async, [&] { return reader_.next_chunk(next); });
      Batch batch = Batch::of(copy_.rebuild ? BatchKind::kRebuild : BatchKind::kSnapshot);
      if (copy_.rebuild) batch.copy_point = copy_.snapshot_at;
      batch.changes.reserve(rows.size());
      for (auto& values : rows) {
        auto change = std::make_shared<Change>();
        change->op = Op::kInsert;
        change->relation = relation;
        change->position = position_;
        change->new_values = std::move(values);
        batch.changes.push_back(std::move(change));
      }
      for (size_t i = 0; i < sinks_.size(); ++i) {
        if (!holds[i]) continue;  // the router's rule (core/table_router.h)
        retry_transient(fmt::format("sink '{}' ({} of {})", copy_.sinks[i].name, copy_.label, table.schema + "." + table.name),
                        config_.retry, stop_, [&] { sinks_[i]->apply(batch); });
      }
      copied += rows.size();
      progress_.rows.fetch_add(rows.size());
      if (progress_.table_rows[task.table]) add(*progress_.table_rows[task.table], static_cast<double>(rows.size()));
      if (progress_.health) progress_.health->snapshot_rows();
      more = fetch.get();
      std::swap(rows, next);
    }
    if (task.parts == 1) {
      spdlog::info("{}: {}.{} copied ({} rows)", copy_.label, table.schema, table.name, copied);
    } else {
      spdlog::info("{}: {}.{} part {} of {} copied ({} rows)", copy_.label, table.schema, table.name, task.part + 1,
                   task.parts, copied);
    }
  }

 private:
  const Config& config_;
  const SnapshotCopy& copy_;
  Position position_;
  std::atomic<bool>& finish_;
  StopSignal& stop_;
  Progress& progress_;
  pg::SnapshotReader reader_;
  pg::RelationCatalog catalog_;
  std::vector<std::unique_ptr<Sink>> sinks_;
};

}  // namespace

SnapshotResult copy_snapshot(const Config& config, const SnapshotCopy& copy, const SinkFactory& make_sink,
                             std::atomic<bool>& finish, StopSignal& stop) {
  auto started = std::chrono::steady_clock::now();
  std::vector<pg::TableInfo> tables;
  std::vector<CopyTask> tasks;
  Progress progress;
  const size_t max_workers = std::max<size_t>(1, config.source.snapshot_workers);
  {
    auto connection = pg::PgConnection::connect(config.source.dsn, pg::PgConnection::Mode::kNormal);
    for (const auto& name : config.source.tables) {
      tables.push_back(pg::describe_table(connection, name));
      pg::TableInfo& table = tables.back();
      if (table.estimated_rows <= 0) {
        // Never analyzed: count, so progress has a real total.
        auto result = connection.exec("SELECT count(*) FROM " + connection.quote_qualified(table.schema, table.name));
        table.estimated_rows = std::stod(std::string(result.value(0, 0)));
      }
      progress.estimated_total += static_cast<uint64_t>(table.estimated_rows);
      // A large table with a primary key is cut into parts the workers copy in
      // parallel, each under the same exported snapshot.
      const auto chunks = static_cast<size_t>(table.estimated_rows / static_cast<double>(config.source.snapshot_chunk_rows));
      const size_t parts = std::min(max_workers, chunks / kMinChunksPerPart);
      std::vector<std::string> points = pg::split_points(connection, table, parts);
      std::optional<std::string> from;
      for (size_t i = 0; i <= points.size(); ++i) {
        CopyTask task{tables.size() - 1, {from, i < points.size() ? std::optional(points[i]) : std::nullopt}, i,
                      points.size() + 1};
        tasks.push_back(std::move(task));
        if (i < points.size()) from = points[i];
      }
    }
  }
  spdlog::info("{}: copying {} tables (~{} rows, in {} parts) at {} with {} workers", copy.label, tables.size(),
               progress.estimated_total, tasks.size(), copy.snapshot_at.str(), std::min(max_workers, tasks.size()));
  progress.table_rows.assign(tables.size(), nullptr);
  if (copy.telemetry) {
    Metrics& metrics = copy.telemetry->metrics;
    for (size_t i = 0; i < tables.size(); ++i) {
      const std::string name = tables[i].schema + "." + tables[i].name;
      set(metrics.snapshot_rows_total.series({name}), std::max(0.0, tables[i].estimated_rows));
      progress.table_rows[i] = &metrics.snapshot_rows_done.series({name});
      set(*progress.table_rows[i], 0);
    }
    set(metrics.snapshot_running.series(), 1);
    progress.health = &copy.telemetry->health;
    progress.health->snapshot_started();
  }
  struct Running {  // the gauge and the health's phase, however the copy ends
    Telemetry* telemetry;
    ~Running() {
      if (!telemetry) return;
      set(telemetry->metrics.snapshot_running.series(), 0);
      telemetry->health.snapshot_finished();
    }
  } running{copy.telemetry};

  std::atomic<size_t> next_task{0};
  std::atomic<size_t> workers_done{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  std::vector<std::thread> workers;
  size_t worker_count = std::max<size_t>(1, std::min(max_workers, tasks.size()));
  for (size_t w = 0; w < worker_count; ++w) {
    workers.emplace_back([&] {
      try {
        SnapshotWorker worker(config, copy, make_sink, finish, stop, progress);
        for (size_t i = next_task++; i < tasks.size(); i = next_task++) {
          worker.copy(tables[tasks[i].table], tasks[i]);
        }
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        stop.request();
      }
      workers_done.fetch_add(1);
    });
  }

  // Report progress while the workers copy: a log line every 10 s, or a live
  // line on a terminal (a log line clears it: app/logging.h).
  const auto report_every = copy.live_progress ? std::chrono::milliseconds(500) : std::chrono::milliseconds(10000);
  auto last_report = std::chrono::steady_clock::now();
  for (;;) {
    bool all_done = workers_done.load() == worker_count;
    if (all_done || stop.wait_for(std::chrono::milliseconds(100))) break;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report < report_every) continue;
    last_report = now;
    const std::string line = progress_line(progress.rows.load(), progress.estimated_total,
                                           std::chrono::duration<double>(now - started).count());
    if (copy.live_progress) {
      fmt::print(stderr, "\r\033[K{}: {}", copy.label, line);
      std::fflush(stderr);
    } else {
      spdlog::info("{}: {}", copy.label, line);
    }
  }
  if (copy.live_progress) fmt::print(stderr, "\r\033[K");
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);
  if (finish.load()) throw StopRequested{};

  SnapshotResult result;
  result.rows = progress.rows.load();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("{}: every table copied, {} rows in {:.1f}s", copy.label, result.rows, result.seconds);
  return result;
}

}  // namespace sluice
