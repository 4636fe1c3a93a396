#include <gtest/gtest.h>

#include "core/error.h"
#include "pipeline/start_plan.h"
#include "source/postgres/postgres_source.h"
#include "source/postgres/pg_position.h"

namespace sluice {
namespace {

NamedCheckpoint applied(const std::string& sink, const std::string& slot = "s") {
  NamedCheckpoint c{sink, {}};
  c.checkpoint.position = pg::position(pg::Lsn(0x100), 3);
  c.checkpoint.snapshot = SnapshotState::kDone;
  c.checkpoint.slot = slot;
  return c;
}
NamedCheckpoint empty(const std::string& sink) { return {sink, {}}; }
NamedCheckpoint interrupted(const std::string& sink) {
  NamedCheckpoint c{sink, {}};
  c.checkpoint.snapshot = SnapshotState::kInProgress;
  c.checkpoint.slot = "s";
  return c;
}
RetainedStream healthy() { return pg::retained_stream_of("s", "pgoutput", "reserved"); }

TEST(StartPlanTest, FreshStartCreatesSlotAndSnapshots) {
  auto plan = plan_start("s", std::nullopt, {empty("a")}, SnapshotMode::kInitial, false);
  EXPECT_TRUE(plan.create_slot);
  EXPECT_TRUE(plan.snapshot);
  EXPECT_FALSE(plan.drop_slot);
}

TEST(StartPlanTest, SnapshotNeverCreatesSlotWithoutCopy) {
  auto plan = plan_start("s", std::nullopt, {empty("a")}, SnapshotMode::kNever, false);
  EXPECT_TRUE(plan.create_slot);
  EXPECT_FALSE(plan.snapshot);
}

TEST(StartPlanTest, ExistingSlotWithCheckpointsResumes) {
  auto plan = plan_start("s", healthy(), {applied("a"), applied("b")}, SnapshotMode::kInitial, false);
  EXPECT_FALSE(plan.create_slot);
  EXPECT_FALSE(plan.drop_slot);
  EXPECT_FALSE(plan.snapshot);
}

TEST(StartPlanTest, MissingSlotWithAppliedSinkIsALostSlot) {
  try {
    plan_start("s", std::nullopt, {applied("cache")}, SnapshotMode::kInitial, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState);
    EXPECT_NE(std::string(e.what()).find("'s' does not exist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--resnapshot"), std::string::npos) << e.what();
  }
}

TEST(StartPlanTest, InvalidatedSlotIsALostSlot) {
  try {
    plan_start("s", pg::retained_stream_of("s", "pgoutput", std::string("lost")), {applied("cache")}, SnapshotMode::kInitial, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState);
    EXPECT_NE(std::string(e.what()).find("invalidated"), std::string::npos) << e.what();
  }
}

TEST(StartPlanTest, InterruptedSnapshotRestartsFromANewSlot) {
  auto plan = plan_start("s", healthy(), {interrupted("a")}, SnapshotMode::kNever, false);
  EXPECT_TRUE(plan.drop_slot);
  EXPECT_TRUE(plan.create_slot);
  EXPECT_TRUE(plan.snapshot);
}

TEST(StartPlanTest, SlotNobodyStartedFromIsRecreated) {
  auto plan = plan_start("s", healthy(), {empty("a")}, SnapshotMode::kInitial, false);
  EXPECT_TRUE(plan.drop_slot);
  EXPECT_TRUE(plan.create_slot);
}

TEST(StartPlanTest, NewSinkBesideAppliedSinkIsAnError) {
  EXPECT_THROW(plan_start("s", healthy(), {applied("a"), empty("b")}, SnapshotMode::kInitial, false), Error);
}

TEST(StartPlanTest, EmptySinkThatMayRebuildIsRebuiltWhileTheOthersResume) {
  auto flushed = empty("b");
  flushed.may_rebuild = true;
  auto plan = plan_start("s", healthy(), {applied("a"), flushed}, SnapshotMode::kInitial, false);
  EXPECT_FALSE(plan.create_slot);
  EXPECT_FALSE(plan.drop_slot);
  EXPECT_FALSE(plan.snapshot);
  EXPECT_EQ(plan.rebuild, std::vector<std::string>{"b"});
  EXPECT_NE(plan.reason.find("rebuilding sink 'b'"), std::string::npos) << plan.reason;
}

TEST(StartPlanTest, InterruptedRebuildResumesAndRebuildsAgain) {
  auto rebuilding = applied("a");
  rebuilding.checkpoint.rebuilding = pg::position(pg::Lsn(0x200));
  auto plan = plan_start("s", healthy(), {rebuilding}, SnapshotMode::kInitial, false);
  EXPECT_FALSE(plan.create_slot);
  EXPECT_EQ(plan.rebuild, std::vector<std::string>{"a"});
  // Even when it never applied a change before the reset.
  rebuilding.checkpoint.position.reset();
  plan = plan_start("s", healthy(), {rebuilding}, SnapshotMode::kInitial, false);
  EXPECT_FALSE(plan.create_slot);
  EXPECT_EQ(plan.rebuild, std::vector<std::string>{"a"});
}

TEST(StartPlanTest, LoneEmptySinkThatMayRebuildStartsFresh) {
  auto flushed = empty("a");
  flushed.may_rebuild = true;
  auto plan = plan_start("s", healthy(), {flushed}, SnapshotMode::kInitial, false);
  EXPECT_TRUE(plan.drop_slot);
  EXPECT_TRUE(plan.create_slot);
  EXPECT_TRUE(plan.snapshot);
  EXPECT_TRUE(plan.rebuild.empty());
}

TEST(StartPlanTest, CheckpointOfAnotherSlotIsAnError) {
  EXPECT_THROW(plan_start("s", healthy(), {applied("a", "other")}, SnapshotMode::kInitial, false), Error);
}

TEST(StartPlanTest, ThePostgresSlotSaysWhyItCannotBeUsed) {
  EXPECT_FALSE(healthy().lost);
  EXPECT_FALSE(healthy().unusable);
  auto lost = pg::retained_stream_of("s", "pgoutput", std::string("lost"));
  ASSERT_TRUE(lost.lost);
  EXPECT_NE(lost.lost->find("replication slot 's' was invalidated by PostgreSQL (wal_status = lost"), std::string::npos);
  auto foreign = pg::retained_stream_of("s", "wal2json", std::nullopt);
  ASSERT_TRUE(foreign.unusable);
  EXPECT_NE(foreign.unusable->find("uses output plugin 'wal2json', sluice needs 'pgoutput'"), std::string::npos);
}

TEST(StartPlanTest, ForeignPluginIsAnError) {
  EXPECT_THROW(plan_start("s", pg::retained_stream_of("s", "wal2json", std::string("")), {applied("a")}, SnapshotMode::kInitial, false), Error);
}

TEST(StartPlanTest, ResnapshotDropsRecreatesAndCopies) {
  auto plan = plan_start("s", pg::retained_stream_of("s", "pgoutput", std::string("lost")), {applied("a")}, SnapshotMode::kNever, true);
  EXPECT_TRUE(plan.drop_slot);
  EXPECT_TRUE(plan.create_slot);
  EXPECT_TRUE(plan.snapshot);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

NamedCheckpoint stateless(const std::string& sink) {
  NamedCheckpoint c{sink, {}};
  c.stateless = true;
  return c;
}

TEST(StartPlanStatelessTest, OnlyStatelessSinksResumeAnExistingSlot) {
  auto plan = plan_start("s", healthy(), {stateless("debug")}, SnapshotMode::kInitial, false);
  EXPECT_FALSE(plan.create_slot);
  EXPECT_FALSE(plan.drop_slot);
  EXPECT_FALSE(plan.snapshot);
}

TEST(StartPlanStatelessTest, OnlyStatelessSinksCreateAMissingSlot) {
  auto plan = plan_start("s", std::nullopt, {stateless("debug")}, SnapshotMode::kInitial, false);
  EXPECT_TRUE(plan.create_slot);
  EXPECT_TRUE(plan.snapshot);
}

TEST(StartPlanStatelessTest, AStatelessSinkBesideOthersChangesNothing) {
  auto resume = plan_start("s", healthy(), {applied("a"), stateless("debug")}, SnapshotMode::kInitial, false);
  EXPECT_FALSE(resume.create_slot);
  EXPECT_TRUE(resume.rebuild.empty());
  auto fresh = plan_start("s", healthy(), {empty("a"), stateless("debug")}, SnapshotMode::kInitial, false);
  EXPECT_TRUE(fresh.drop_slot);
  EXPECT_TRUE(fresh.create_slot);
}

}  // namespace
}  // namespace sluice
