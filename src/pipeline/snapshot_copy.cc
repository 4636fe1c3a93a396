#include "pipeline/snapshot_copy.h"

#include <cstdio>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/retry.h"
#include "pipeline/progress_line.h"

namespace sluice {

namespace {

struct Progress {
  std::atomic<uint64_t> rows{0};
  uint64_t estimated_total = 0;
  std::vector<std::atomic<double>*> table_rows;  // per table: sluice_snapshot_rows_done (or null)
  Health* health = nullptr;
};

class SnapshotWorker {
 public:
  SnapshotWorker(const Config& config, const SnapshotCopy& copy, const SnapshotPlan& plan, const SinkFactory& make_sink,
                 std::atomic<bool>& finish, StopSignal& stop, Progress& progress)
      : config_(config),
        copy_(copy),
        plan_(plan),
        position_(copy.snapshot->at()),
        finish_(finish),
        stop_(stop),
        progress_(progress),
        reader_(copy.snapshot->open_reader()) {
    for (const auto& sink_config : copy.sinks) {
      sinks_.push_back(make_sink(sink_config));
      // Connects, and lets the sink see that its snapshot is in progress.
      retry_transient(fmt::format("sink '{}'", sink_config.name), config.retry, stop,
                      [&] { sinks_.back()->load_checkpoint(); });
    }
  }

  void copy(const SnapshotPart& part) {
    const std::string& table = plan_.tables.at(part.table).name;
    RelationPtr relation = reader_->begin(plan_, part, config_.source.snapshot_chunk_rows);
    std::vector<bool> holds;
    for (const auto& sink : sinks_) holds.push_back(sink->holds_table(table));
    // The next chunk is read while this one is written, so that the source and
    // the sinks work at the same time. (The reader is used by one thread at a
    // time: the fetch is joined before the reader is touched again, also when
    // writing throws — the future's destructor waits for it.)
    std::vector<std::vector<Value>> rows, next;
    bool more = reader_->next_chunk(rows);
    uint64_t copied = 0;
    while (more) {
      if (finish_.load() || stop_.requested()) throw StopRequested{};
      auto fetch = std::async(std::launch::async, [&] { return reader_->next_chunk(next); });
      Batch batch = Batch::of(copy_.rebuild ? BatchKind::kRebuild : BatchKind::kSnapshot);
      if (copy_.rebuild) batch.copy_point = position_;
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
        retry_transient(fmt::format("sink '{}' ({} of {})", copy_.sinks[i].name, copy_.label, table), config_.retry,
                        stop_, [&] { sinks_[i]->apply(batch); });
      }
      copied += rows.size();
      progress_.rows.fetch_add(rows.size());
      if (progress_.table_rows[part.table]) add(*progress_.table_rows[part.table], static_cast<double>(rows.size()));
      if (progress_.health) progress_.health->snapshot_rows();
      more = fetch.get();
      std::swap(rows, next);
    }
    if (part.parts == 1) {
      spdlog::info("{}: {} copied ({} rows)", copy_.label, table, copied);
    } else {
      spdlog::info("{}: {} part {} of {} copied ({} rows)", copy_.label, table, part.part + 1, part.parts, copied);
    }
  }

 private:
  const Config& config_;
  const SnapshotCopy& copy_;
  const SnapshotPlan& plan_;
  Position position_;
  std::atomic<bool>& finish_;
  StopSignal& stop_;
  Progress& progress_;
  std::unique_ptr<SnapshotPartReader> reader_;
  std::vector<std::unique_ptr<Sink>> sinks_;
};

}  // namespace

SnapshotResult copy_snapshot(const Config& config, const SnapshotCopy& copy, const SinkFactory& make_sink,
                             std::atomic<bool>& finish, StopSignal& stop) {
  if (copy.snapshot == nullptr) throw Error::internal(copy.label + ": a copy without a snapshot");
  auto started = std::chrono::steady_clock::now();
  Progress progress;
  const size_t max_workers = std::max<size_t>(1, config.source.snapshot_workers);
  const SnapshotPlan plan = copy.snapshot->plan(config.source.tables, max_workers, config.source.snapshot_chunk_rows);
  for (const SnapshotTable& table : plan.tables) progress.estimated_total += static_cast<uint64_t>(table.estimated_rows);
  const auto& tables = plan.tables;
  const auto& tasks = plan.parts;
  spdlog::info("{}: copying {} tables (~{} rows, in {} parts) at {} with {} workers", copy.label, tables.size(),
               progress.estimated_total, tasks.size(), copy.snapshot->at().str(), std::min(max_workers, tasks.size()));
  progress.table_rows.assign(tables.size(), nullptr);
  if (copy.telemetry) {
    Metrics& metrics = copy.telemetry->metrics;
    for (size_t i = 0; i < tables.size(); ++i) {
      const std::string& name = tables[i].name;
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
        SnapshotWorker worker(config, copy, plan, make_sink, finish, stop, progress);
        for (size_t i = next_task++; i < tasks.size(); i = next_task++) worker.copy(tasks[i]);
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
