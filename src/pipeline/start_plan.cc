#include "pipeline/start_plan.h"

#include <fmt/format.h>

#include "core/error.h"

namespace sluice {

namespace {

StartPlan fresh(bool drop, SnapshotMode mode, std::string reason) {
  StartPlan plan;
  plan.drop_slot = drop;
  plan.create_slot = true;
  plan.snapshot = mode == SnapshotMode::kInitial;
  plan.reason = std::move(reason);
  return plan;
}

}  // namespace

StartPlan plan_start(const std::string& slot_name, const std::optional<RetainedStream>& slot,
                     const std::vector<NamedCheckpoint>& sinks, SnapshotMode mode, bool resnapshot) {
  if (resnapshot) {
    StartPlan plan = fresh(slot.has_value(), SnapshotMode::kInitial, "--resnapshot: recreating the slot and rebuilding every sink");
    return plan;
  }
  const NamedCheckpoint* applied = nullptr;      // a sink that follows the slot
  const NamedCheckpoint* interrupted = nullptr;  // a sink whose snapshot did not finish
  const NamedCheckpoint* empty = nullptr;        // a sink with nothing stored that may not be rebuilt
  std::vector<std::string> rebuild;              // empty sinks that may be, and interrupted rebuilds
  bool any_state = false;
  for (const auto& sink : sinks) {
    if (sink.stateless) continue;
    any_state = true;
    if (sink.checkpoint.snapshot == SnapshotState::kInProgress) {
      interrupted = &sink;
    } else if (sink.checkpoint.position || sink.checkpoint.rebuilding) {
      applied = &sink;
      if (!sink.checkpoint.slot.empty() && sink.checkpoint.slot != slot_name) {
        throw Error::state(fmt::format(
            "sink '{}' follows replication slot '{}', but the configuration names slot '{}'; "
            "point source.slot back at '{}', or rebuild the sink with `sluice run --resnapshot`",
            sink.sink, sink.checkpoint.slot, slot_name, sink.checkpoint.slot));
      }
      if (sink.checkpoint.rebuilding) rebuild.push_back(sink.sink);
    } else if (sink.may_rebuild) {
      rebuild.push_back(sink.sink);
    } else {
      empty = &sink;
    }
  }

  if (slot && slot->lost) throw Error::state(*slot->lost);
  if (slot && slot->unusable) throw Error::state(*slot->unusable);

  if (!slot) {
    if (applied && !interrupted) {
      throw Error::state(fmt::format(
          "replication slot '{}' does not exist, but sink '{}' has applied changes from it{}: the slot "
          "was dropped or invalidated, so the changes made since then cannot be streamed. Recover with "
          "`sluice run --resnapshot`, which recreates the slot and rebuilds every sink",
          slot_name, applied->sink,
          applied->checkpoint.position ? " up to " + applied->checkpoint.position->str() : std::string()));
    }
    if (interrupted) return fresh(false, SnapshotMode::kInitial, fmt::format("the snapshot into sink '{}' was interrupted; starting it again", interrupted->sink));
    return fresh(false, mode, fmt::format("creating replication slot '{}'", slot_name));
  }

  if (interrupted) {
    return fresh(true, SnapshotMode::kInitial,
                 fmt::format("the snapshot into sink '{}' was interrupted; recreating slot '{}' and starting it again",
                             interrupted->sink, slot_name));
  }
  if (!any_state) {
    StartPlan plan;
    plan.reason = fmt::format("resuming from slot '{}' (no sink keeps a checkpoint)", slot_name);
    return plan;
  }
  if (!applied) {
    return fresh(true, mode, fmt::format("slot '{}' exists but no sink has started from it; recreating it", slot_name));
  }
  if (empty) {
    throw Error::state(fmt::format(
        "sink '{}' has no checkpoint, but slot '{}' is already in use by the other sinks: the sink is new, or "
        "its data was flushed or lost. Rebuild every sink with `sluice run --resnapshot`",
        empty->sink, slot_name));
  }
  StartPlan plan;
  plan.reason = fmt::format("resuming from slot '{}'", slot_name);
  plan.rebuild = std::move(rebuild);
  for (const auto& name : plan.rebuild) plan.reason += fmt::format("; rebuilding sink '{}' while streaming", name);
  return plan;
}

}  // namespace sluice
