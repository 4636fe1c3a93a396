#include "app/check_command.h"

#include <cstdio>

#include <fmt/format.h>

#include "app/preflight.h"
#include "core/error.h"
#include "pipeline/start_plan.h"

namespace sluice {

int check_command(const Config& config) {
  fmt::print("configuration {} is valid\n", config.path);
  auto report = run_preflight(config);
  for (const auto& fact : report.facts) fmt::print("  ok: {}\n", fact);
  for (const auto& warning : report.warnings) fmt::print("  warning: {}\n", warning);

  if (report.problems.empty() && report.checkpoints.size() == config.sinks.size()) {
    try {
      auto plan = plan_start(config.source.stream_name(), report.slot, report.checkpoints, config.source.snapshot, false);
      fmt::print("run would: {}", plan.reason);
      if (plan.drop_slot) fmt::print(", after dropping the existing slot");
      if (plan.snapshot) fmt::print(", copy {} tables under the slot's snapshot", config.source.tables.size());
      fmt::print(", then stream\n");
    } catch (const Error& e) {
      report.problems.push_back(e.what());
    }
    for (const auto& sink : config.sinks) {
      fmt::print("  into sink '{}' ({})\n", sink.name, sink.settings->describe());
    }
  }
  for (const auto& problem : report.problems) fmt::print(stderr, "problem: {}\n", problem);
  if (!report.problems.empty()) {
    fmt::print(stderr, "{} problem(s) found\n", report.problems.size());
    return 1;
  }
  fmt::print("no problems found\n");
  return 0;
}

}  // namespace sluice
