// The Redis sink's side of a rebuild after a reset (on_reset = "rebuild"): the
// reset is noticed before anything is written, the checkpoint is stored again,
// copied rows obey the version guard and the tombstones of newer deletes, an
// unchanged TOAST value waits for its row to be copied, and a replaced rebuild's
// rows are refused. The whole rebuild, end to end: tests/integration/sink_reset_test.cc.
#include <gtest/gtest.h>

#include "integration/redis_sink_fixture.h"
#include "source/postgres/pg_position.h"

namespace sluice {
namespace {

using namespace redis_test;

// Rows copied by the rebuild at `at`.
Batch rebuilt(Position at, std::vector<ChangePtr> changes) {
  Batch b = Batch::of(BatchKind::kRebuild, std::move(changes));
  b.copy_point = at;
  return b;
}
Position copied(Position at) { return at; }

constexpr uint64_t kCopyPoint = 0x250;

// Over both write paths: plain commands (streaming batches) and the batch
// script (a JSON document that keeps TOAST values takes plain commands either way).
class RedisSinkRebuildTest : public RedisSinkTest, public ::testing::WithParamInterface<size_t> {
 protected:
  RedisSinkRebuildTest() { script_max_ops_ = GetParam(); }

  // A second instance, as the rebuild's copy workers use.
  std::unique_ptr<RedisSink> copier() {
    auto sink = std::make_unique<RedisSink>(config());
    auto checkpoint = sink->load_checkpoint();
    EXPECT_EQ(checkpoint.rebuilding, pg::position(pg::Lsn(kCopyPoint)));
    return sink;
  }
  std::optional<std::string> tomb(const std::string& identity) { return hget("sluice:cache:tomb:public.users", identity); }
};

TEST_P(RedisSinkRebuildTest, FlushIsAResetThenTheSameBatchAppliesAfterBeginRebuild) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("a"), N, N})}));
  client_.command({"FLUSHALL"});
  const Batch next = batch({ins(rel, pos(0x300), {T("2"), T("b"), N, N})});
  EXPECT_THROW(sink->apply(next), SinkWasReset);
  EXPECT_EQ(client_.keys("*"), std::vector<std::string>{});

  sink->begin_rebuild("slot1", pg::position(pg::Lsn(kCopyPoint)));
  EXPECT_EQ(hgetall("sluice:cache:checkpoint"),
            (std::map<std::string, std::string>{{"position", pos(0x200).encode()},
                                                {"slot", "slot1"},
                                                {"snapshot", "done"},
                                                {"rebuild", copied(pg::position(pg::Lsn(kCopyPoint))).encode()}}));
  sink->apply(next);
  EXPECT_EQ(client_.get("users:2"), R"({"id":2,"name":"b","payload":null,"note":null})");
  EXPECT_EQ(checkpoint(), pos(0x300).encode());

  // Copied rows: user 1 comes back; user 2's streamed change is newer than the copy.
  auto copy = copier();
  copy->apply(rebuilt(pg::position(pg::Lsn(kCopyPoint)), {ins(rel, copied(pg::position(pg::Lsn(kCopyPoint))), {T("1"), T("a"), N, N}),
                                        ins(rel, copied(pg::position(pg::Lsn(kCopyPoint))), {T("2"), T("b-before"), N, N})}));
  EXPECT_EQ(copy->last_apply().applied, 1u);
  EXPECT_EQ(copy->last_apply().skipped, 1u);
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"a","payload":null,"note":null})");
  EXPECT_EQ(client_.get("users:2"), R"({"id":2,"name":"b","payload":null,"note":null})");
  EXPECT_EQ(checkpoint(), pos(0x300).encode()) << "copied rows leave the checkpoint alone";

  copy->finish_rebuild(pg::position(pg::Lsn(kCopyPoint)), {"public.users"});
  EXPECT_EQ(hget("sluice:cache:checkpoint", "rebuild"), std::nullopt);
  EXPECT_FALSE(sink->load_checkpoint().rebuilding);
}

TEST_P(RedisSinkRebuildTest, CopiedRowsNeverBringBackARowDeletedAfterTheCopyPoint) {
  auto sink = started(config());
  auto rel = users();
  sink->begin_rebuild("slot1", pg::position(pg::Lsn(kCopyPoint)));
  sink->apply(batch({del(rel, pos(0x200), {T("3"), N, N, N})}));  // before the copy point: in the copy
  sink->apply(batch({del(rel, pos(0x300), {T("1"), N, N, N})}));  // after it: the copy still has the row
  EXPECT_EQ(tomb("1:3"), std::nullopt);
  EXPECT_EQ(tomb("1:1"), pos(0x300).encode());

  auto copy = copier();
  copy->apply(rebuilt(pg::position(pg::Lsn(kCopyPoint)), {ins(rel, copied(pg::position(pg::Lsn(kCopyPoint))), {T("1"), T("deleted later"), N, N}),
                                        ins(rel, copied(pg::position(pg::Lsn(kCopyPoint))), {T("3"), T("inserted again"), N, N})}));
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(client_.get("users:3"), R"({"id":3,"name":"inserted again","payload":null,"note":null})");

  // A truncate after the copy point keeps every copied row of the table out.
  sink->apply(batch({trunc(rel, pos(0x400))}));
  EXPECT_EQ(client_.get("users:3"), std::nullopt);
  copy->apply(rebuilt(pg::position(pg::Lsn(kCopyPoint)), {ins(rel, copied(pg::position(pg::Lsn(kCopyPoint))), {T("5"), T("truncated later"), N, N})}));
  EXPECT_EQ(client_.get("users:5"), std::nullopt);
  EXPECT_EQ(copy->last_apply().skipped, 1u);

  copy->finish_rebuild(pg::position(pg::Lsn(kCopyPoint)), {"public.users"});
  EXPECT_EQ(client_.keys("sluice:cache:tomb:*"), std::vector<std::string>{});
  // Tombstones are only kept while a rebuild runs.
  sink->apply(batch({del(rel, pos(0x500), {T("7"), N, N, N})}));
  EXPECT_EQ(client_.keys("sluice:cache:tomb:*"), std::vector<std::string>{});
}

TEST_P(RedisSinkRebuildTest, UnchangedToastOfARowNotCopiedYetWaitsForTheCopy) {
  auto sink = started(config());
  auto rel = users();
  sink->begin_rebuild("slot1", pg::position(pg::Lsn(kCopyPoint)));
  // Older than the copy point: the copied row has it; nothing to write.
  sink->apply(batch({upd(rel, pos(0x200), {T("1"), T("older"), U, N})}));
  EXPECT_EQ(sink->last_apply().skipped, 1u);
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(checkpoint(), pos(0x200).encode());

  // Newer: it must wait for the row to be copied, never be written without the value.
  const Batch newer = batch({upd(rel, pos(0x300), {T("1"), T("newer"), U, N})});
  try {
    sink->apply(newer);
    FAIL() << "expected Error::transient";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
    EXPECT_TRUE(contains(e.what(), "not copied yet")) << e.what();
  }
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_EQ(checkpoint(), pos(0x200).encode());

  copier()->apply(rebuilt(pg::position(pg::Lsn(kCopyPoint)), {ins(rel, copied(pg::position(pg::Lsn(kCopyPoint))), {T("1"), T("copied"), T(R"({"big": [1, 2]})"), N})}));
  sink->apply(newer);
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"newer","payload":{"big": [1, 2]},"note":null})");
}

// Redis went back to older data (a failover lost acknowledged writes): the
// checkpoint is behind the one this sink wrote. That is a reset, not another
// writer, and nothing of the batch is written.
TEST_P(RedisSinkRebuildTest, ACheckpointThatWentBackIsAReset) {
  auto sink = started(config());
  auto rel = users();
  sink->apply(batch({ins(rel, pos(0x200), {T("1"), T("a"), N, N})}));
  ASSERT_EQ(client_.command({"SAVE"}).at(0), std::string("OK"));
  sink->apply(batch({ins(rel, pos(0x300), {T("2"), T("b"), N, N})}));
  ASSERT_EQ(client_.command({"DEBUG", "RELOAD", "NOSAVE"}).at(0), std::string("OK"));
  ASSERT_EQ(checkpoint(), pos(0x200).encode());
  try {
    sink->apply(batch({ins(rel, pos(0x400), {T("3"), T("c"), N, N})}));
    FAIL() << "expected SinkWasReset";
  } catch (const SinkWasReset& e) {
    EXPECT_TRUE(contains(e.what(), "went back from " + pos(0x300).encode() + " to " + pos(0x200).encode())) << e.what();
  }
  EXPECT_EQ(client_.get("users:3"), std::nullopt);
  // A checkpoint ahead of this sink's is still another writer.
  client_.command({"HSET", "sluice:cache:checkpoint", "position", pos(0x900).encode()});
  try {
    sink->apply(batch({ins(rel, pos(0x400), {T("3"), T("c"), N, N})}));
    FAIL() << "expected Error::state";
  } catch (const SinkWasReset& e) {
    FAIL() << e.what();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "another process")) << e.what();
  }
}

TEST_P(RedisSinkRebuildTest, RowsOfAReplacedRebuildAreRefused) {
  auto sink = started(config());
  auto rel = users();
  sink->begin_rebuild("slot1", pg::position(pg::Lsn(kCopyPoint)));
  auto stale = copier();
  sink->begin_rebuild("slot1", pg::position(pg::Lsn(0x260)));  // the copy started over
  try {
    stale->apply(rebuilt(pg::position(pg::Lsn(kCopyPoint)), {ins(rel, copied(pg::position(pg::Lsn(kCopyPoint))), {T("1"), T("a"), N, N})}));
    FAIL() << "expected Error::state";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
    EXPECT_TRUE(contains(e.what(), "no longer in progress")) << e.what();
  }
  EXPECT_EQ(client_.get("users:1"), std::nullopt);
  EXPECT_THROW(stale->finish_rebuild(pg::position(pg::Lsn(kCopyPoint)), {"public.users"}), Error);
  EXPECT_EQ(hget("sluice:cache:checkpoint", "rebuild"), copied(pg::position(pg::Lsn(0x260))).encode());
}

TEST_P(RedisSinkRebuildTest, SinkWithoutRowsOnlyGetsItsCheckpointBack) {
  auto sink = started(config(SinkMode::kInvalidate));
  EXPECT_EQ(sink->row_store(), nullptr);
  sink->apply(batch({upd(users(), pos(0x200), {T("1"), T("a"), N, N})}));
  client_.command({"FLUSHALL"});
  EXPECT_THROW(sink->apply(batch({upd(users(), pos(0x300), {T("1"), T("b"), N, N})})), SinkWasReset);
  sink->begin_rebuild("slot1", std::nullopt);
  EXPECT_EQ(hgetall("sluice:cache:checkpoint"),
            (std::map<std::string, std::string>{{"position", pos(0x200).encode()}, {"slot", "slot1"}, {"snapshot", "done"}}));
}

INSTANTIATE_TEST_SUITE_P(Paths, RedisSinkRebuildTest, ::testing::Values(size_t{0}, kScriptEverywhere),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return info.param == 0 ? std::string("PlainCommands") : std::string("Script");
                         });

}  // namespace
}  // namespace sluice
