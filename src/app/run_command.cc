#include "app/run_command.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/logging.h"
#include "app/metrics_server.h"
#include "app/plugins.h"
#include "app/preflight.h"
#include "app/signals.h"
#include "core/error.h"
#include "core/retry.h"
#include "core/sink_runner.h"
#include "core/source.h"
#include "pipeline/sink_rebuild.h"
#include "pipeline/snapshot_copy.h"
#include "pipeline/start_plan.h"
#include "config/sink_plugin.h"

namespace sluice {

namespace {

std::atomic<bool> g_finish{false};
StopSignal g_stop;

void store_shapes(Sink& sink, const std::map<std::string, std::string>& shapes) {
  RowStore* rows = sink.row_store();
  if (rows == nullptr) return;
  for (const auto& [table, shape] : shapes) rows->store_table_shape(table, shape);
}

// The shape every sink that holds rows has stored for each table, "" where they
// differ or one has none (the table is re-synced); the current shapes when no
// sink holds rows.
std::map<std::string, std::string> known_shapes(const Config& config, Source& source,
                                                std::vector<std::unique_ptr<Sink>>& sinks) {
  std::map<std::string, std::string> known;
  bool any = false;
  for (auto& sink : sinks) {
    RowStore* rows = sink->row_store();
    if (rows == nullptr || !sink->keeps_state()) continue;
    std::map<std::string, std::string> stored;
    retry_transient(fmt::format("sink '{}'", sink->name()), config.retry, g_stop,
                    [&] { stored = rows->load_table_shapes(); });
    for (const auto& table : config.source.tables) {
      const std::string& shape = stored[table];
      if (!any) known[table] = shape;
      else if (known[table] != shape) known[table] = "";
    }
    any = true;
  }
  return any ? known : source.table_shapes();
}

// Creates the retained stream and, if asked, copies the tables under its
// consistent snapshot.
void start_fresh(const Config& config, Source& source, const StartPlan& plan,
                 std::vector<std::unique_ptr<Sink>>& sinks, Telemetry& telemetry) {
  // Read before the copy: a change of shape during it shows as a difference later.
  const auto shapes = source.table_shapes();
  if (!plan.snapshot) {
    const Position point = source.create_retained(nullptr);
    for (auto& sink : sinks) {
      if (SnapshotTarget* target = sink->snapshot_target()) target->start_without_snapshot(source.stream_name(), point);
      store_shapes(*sink, shapes);
    }
    return;
  }
  const SnapshotCopier copier = [&](ConsistentSnapshot& snapshot) {
    const Position& point = snapshot.at();
    for (auto& sink : sinks) {
      if (SnapshotTarget* target = sink->snapshot_target()) {
        target->begin_snapshot(source.stream_name(), point, config.source.tables);
      }
    }
    SnapshotCopy copy{&snapshot, config.sinks};
    copy.telemetry = &telemetry;
    copy.live_progress = live_progress_enabled();
    copy_snapshot(config, copy, make_sink, g_finish, g_stop);
    for (auto& sink : sinks) {
      if (SnapshotTarget* target = sink->snapshot_target()) target->finish_snapshot(source.stream_name(), point);
      store_shapes(*sink, shapes);
    }
  };
  source.create_retained(&copier);
}

int run_active(const Config& config, const RunOptions& options, Source& source, const ActiveInstance* active,
               Telemetry& telemetry);

int run(const Config& config, const RunOptions& options, Telemetry& telemetry) {
  auto report = run_preflight(config);
  if (!report.problems.empty()) {
    for (const auto& problem : report.problems) spdlog::error("{}", problem);
    return 1;
  }
  for (const auto& warning : report.warnings) spdlog::warn("{}", warning);
  std::unique_ptr<Source> source = make_source(config, telemetry);
  // Held for the whole run.
  std::unique_ptr<ActiveInstance> active = source->become_active(g_finish, g_stop, &telemetry.health);
  auto lost = [&active]() -> std::optional<std::string> { return active ? active->lost() : std::nullopt; };
  try {
    return run_active(config, options, *source, active.get(), telemetry);
  } catch (const StopRequested&) {
    if (auto why = lost()) throw Error::state(*why);
    throw;
  } catch (const Error&) {
    // A failure caused by the stop the lost lock requested is reported as that.
    if (auto why = lost()) throw Error::state(*why);
    throw;
  }
}

// The run once this instance is the active one.
int run_active(const Config& config, const RunOptions& options, Source& source, const ActiveInstance* active,
               Telemetry& telemetry) {
  source.prepare();

  std::vector<std::unique_ptr<Sink>> sinks;
  for (const auto& sink_config : config.sinks) sinks.push_back(make_sink(sink_config));
  std::vector<NamedCheckpoint> checkpoints;
  for (size_t i = 0; i < sinks.size(); ++i) {
    SinkCheckpoint checkpoint;
    retry_transient(fmt::format("sink '{}'", config.sinks[i].name), config.retry, g_stop,
                    [&] { checkpoint = sinks[i]->load_checkpoint(); });
    checkpoints.push_back({config.sinks[i].name, checkpoint,
                           config.sinks[i].on_reset == OnReset::kRebuild && sinks[i]->rebuild_target() != nullptr,
                           !sinks[i]->keeps_state()});
  }

  auto plan = plan_start(source.stream_name(), source.retained(), checkpoints, config.source.snapshot,
                         options.resnapshot);
  spdlog::info("{}", plan.reason);
  if (plan.drop_slot) source.drop_retained();
  if (plan.create_slot) start_fresh(config, source, plan, sinks, telemetry);

  // Each sink resumes after its own checkpoint; the source may be acknowledged
  // from where the retained stream resumes on.
  const Position confirmed = source.resume_point();
  auto shapes = known_shapes(config, source, sinks);
  std::vector<std::unique_ptr<SinkRunner>> runners;
  std::vector<SinkRunner*> runner_pointers;
  for (size_t i = 0; i < sinks.size(); ++i) {
    auto checkpoint = sinks[i]->load_checkpoint();
    const SinkConfig& sink_config = config.sinks[i];
    RebuildStarter rebuild;
    if (sink_config.on_reset == OnReset::kRebuild && sinks[i]->rebuild_target() != nullptr) {
      rebuild = [&config, &sink_config, &source](Sink& sink) {
        return std::make_unique<SinkRebuild>(config, sink_config, source, sink, make_sink);
      };
    }
    const bool rebuild_first =
        std::find(plan.rebuild.begin(), plan.rebuild.end(), sink_config.name) != plan.rebuild.end();
    runners.push_back(std::make_unique<SinkRunner>(std::move(sinks[i]), sink_config.bounds, config.retry, g_stop,
                                                   checkpoint.position, confirmed, std::move(rebuild),
                                                   rebuild_first, &telemetry));
    runner_pointers.push_back(runners.back().get());
    spdlog::info("sink '{}' resumes after {}", config.sinks[i].name,
                 checkpoint.position ? checkpoint.position->str() : std::string("the start"));
  }
  for (auto& runner : runners) runner->start();

  source.stream(runner_pointers, g_finish, g_stop, std::move(shapes));
  if (active != nullptr) {
    if (auto lost = active->lost()) throw Error::state(*lost);
  }
  for (auto& runner : runners) {
    if (auto failure = runner->failure()) throw Error::state(*failure);
  }
  spdlog::info("stopped cleanly; every applied change is acknowledged");
  return 0;
}

}  // namespace

int run_command(const Config& config, const RunOptions& options) {
  watch_termination_signals(g_finish, g_stop);
  try {
    Telemetry telemetry(config.metrics.unhealthy_after);
    telemetry.health.set_silence_timeout(std::max(config.metrics.unhealthy_after, 3 * config.source.settings->idle_report_interval()));
    std::optional<MetricsServer> server;
    if (config.metrics.enabled) server.emplace(config.metrics, telemetry);
    return run(config, options, telemetry);
  } catch (const StopRequested&) {
    spdlog::info("stopped before streaming began; the next run continues from the stored state");
    return 0;
  } catch (const Error& e) {
    spdlog::critical("{}: {}", to_string(e.kind()), e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {}", e.what());
    return 1;
  }
}

}  // namespace sluice
