// The runner's batching and acknowledgement logic, with a recording sink (the
// Redis sink itself is tested against a real Redis in tests/integration).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/sink_runner.h"
#include "source/postgres/pg_position.h"

namespace sluice {
namespace {

class RecordingSink : public Sink, public RebuildTarget {
 public:
  std::mutex mutex;
  std::vector<Batch> batches;
  int transient_failures_left = 0;
  int resets_left = 0;           // apply() throws SinkWasReset this many times
  int rebuilds_begun = 0;
  std::string name_ = "rec";

  const std::string& name() const override { return name_; }
  Durability durability() const override { return Durability::kCheckpointAtomic; }
  RebuildTarget* rebuild_target() override { return this; }
  SinkCheckpoint load_checkpoint() override { return {}; }
  void apply(const Batch& batch) override {
    std::lock_guard lock(mutex);
    if (transient_failures_left > 0) {
      --transient_failures_left;
      throw Error::transient("store down");
    }
    if (resets_left > 0) {
      --resets_left;
      throw SinkWasReset("the checkpoint is gone");
    }
    batches.push_back(batch);
  }
  void begin_rebuild(const std::string&, const std::optional<Position>&) override {
    std::lock_guard lock(mutex);
    ++rebuilds_begun;
  }
  void finish_rebuild(const Position&, const std::vector<std::string>&) override {}
};

// A rebuild whose outcome the test sets.
class FakeRebuild : public BackgroundTask {
 public:
  struct Shared {
    std::atomic<Status> status{Status::kRunning};
    std::atomic<bool> transient{true};
    std::atomic<int> started{0};
    std::atomic<int> destroyed{0};
  };
  explicit FakeRebuild(Shared& shared) : shared_(shared) { ++shared_.started; }
  ~FakeRebuild() override { ++shared_.destroyed; }
  Status status() const override { return shared_.status.load(); }
  std::string failure() const override { return "copy failed"; }
  bool failure_is_transient() const override { return shared_.transient.load(); }

 private:
  Shared& shared_;
};

bool eventually_true(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

ChangePtr change(uint64_t lsn, uint32_t index) {
  auto c = std::make_shared<Change>();
  c->op = Op::kInsert;
  c->position = pg::position(pg::Lsn(lsn), index);
  return c;
}

class SinkRunnerTest : public ::testing::Test {
 protected:
  SinkBounds config;
  RetryConfig retry{std::chrono::milliseconds(1), std::chrono::milliseconds(5)};
  StopSignal stop;
  RecordingSink* sink = nullptr;

  std::unique_ptr<SinkRunner> make(std::optional<Position> applied = std::nullopt) {
    auto owned = std::make_unique<RecordingSink>();
    sink = owned.get();
    return std::make_unique<SinkRunner>(std::move(owned), config, retry, stop, applied, pg::position(pg::Lsn(0x10)));
  }
  void push(SinkRunner& runner, QueueItem item) { ASSERT_TRUE(runner.queue().push(std::move(item), std::chrono::seconds(5))); }
  void drain(SinkRunner& runner) {
    runner.finish();
    runner.join();
  }
};

TEST_F(SinkRunnerTest, WholeTransactionIsOneBatchWithItsCheckpoint) {
  auto runner = make();
  push(*runner, change(0x100, 1));
  push(*runner, change(0x100, 2));
  push(*runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 1u);
  EXPECT_EQ(sink->batches[0].changes.size(), 2u);
  EXPECT_EQ(sink->batches[0].checkpoint, (pg::position(pg::Lsn(0x100), 2)));
  EXPECT_EQ(runner->durable(), pg::position(pg::Lsn(0x120)));
}

TEST_F(SinkRunnerTest, ChangesAtOrBeforeTheCheckpointAreDropped) {
  auto runner = make(pg::position(pg::Lsn(0x100), 2));
  push(*runner, change(0x100, 1));
  push(*runner, change(0x100, 2));
  push(*runner, change(0x100, 3));
  push(*runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 1u);
  ASSERT_EQ(sink->batches[0].changes.size(), 1u);
  EXPECT_EQ(sink->batches[0].changes[0]->position, pg::position(pg::Lsn(0x100), 3));
}

TEST_F(SinkRunnerTest, LargeTransactionIsSplitAtTheBatchBound) {
  config.batch_max_changes = 2;
  auto runner = make();
  for (uint32_t i = 1; i <= 5; ++i) push(*runner, change(0x100, i));
  push(*runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 3u);
  EXPECT_EQ(sink->batches[0].checkpoint, (pg::position(pg::Lsn(0x100), 2)));
  EXPECT_EQ(sink->batches[2].checkpoint, (pg::position(pg::Lsn(0x100), 5)));
}

TEST_F(SinkRunnerTest, FullBatchAppliesWholeTransactionsAndCarriesTheOpenOneOver) {
  config.batch_max_changes = 4;
  auto runner = make();
  for (uint64_t lsn : {0x100, 0x200, 0x300}) {
    for (uint32_t i = 1; i <= 3; ++i) push(*runner, change(lsn, i));
    push(*runner, TransactionEnd{pg::position(pg::Lsn(lsn + 0x20))});
  }
  runner->start();
  drain(*runner);
  // No batch ends inside a transaction of 3 changes, though 4 would fit.
  ASSERT_EQ(sink->batches.size(), 3u);
  for (size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(sink->batches[b].changes.size(), 3u) << "batch " << b;
    EXPECT_EQ(sink->batches[b].checkpoint, (pg::position(pg::Lsn(0x100 * (b + 1)), 3))) << "batch " << b;
  }
  EXPECT_EQ(runner->durable(), pg::position(pg::Lsn(0x320)));
}

TEST_F(SinkRunnerTest, IdleSourceAdvancesDurableWithoutWriting) {
  auto runner = make();
  push(*runner, SourceIdle{pg::position(pg::Lsn(0x900))});
  runner->start();
  drain(*runner);
  EXPECT_TRUE(sink->batches.empty());
  EXPECT_EQ(runner->durable(), pg::position(pg::Lsn(0x900)));
}

TEST_F(SinkRunnerTest, DurableDoesNotPassAnUnfinishedTransaction) {
  auto runner = make();
  push(*runner, change(0x100, 1));
  push(*runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  push(*runner, change(0x200, 1));  // its commit has not been taken yet
  runner->start();
  drain(*runner);
  EXPECT_EQ(runner->durable(), pg::position(pg::Lsn(0x120)));
}

TEST_F(SinkRunnerTest, TransientErrorsAreRetriedUntilApplied) {
  auto runner = make();
  sink->transient_failures_left = 3;
  push(*runner, change(0x100, 1));
  push(*runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 1u);
  EXPECT_FALSE(runner->failure());
}

TEST_F(SinkRunnerTest, FatalErrorIsStickyAndStopsTheProcess) {
  class FailingSink : public RecordingSink {
    void apply(const Batch&) override { throw Error::invalid_input("WRONGTYPE"); }
  };
  SinkRunner runner(std::make_unique<FailingSink>(), config, retry, stop, std::nullopt, pg::position(pg::Lsn(0)));
  push(runner, change(0x100, 1));
  push(runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  runner.start();
  runner.join();
  ASSERT_TRUE(runner.failure());
  EXPECT_NE(runner.failure()->find("WRONGTYPE"), std::string::npos);
  EXPECT_TRUE(stop.requested());
  EXPECT_EQ(runner.durable(), pg::position(pg::Lsn(0)));
}

TEST_F(SinkRunnerTest, ResetWithoutRebuildIsFatalAndSaysHowToRecover) {
  auto runner = make();
  sink->resets_left = 1;
  push(*runner, change(0x100, 1));
  push(*runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  runner->start();
  runner->join();
  ASSERT_TRUE(runner->failure());
  EXPECT_NE(runner->failure()->find("on_reset"), std::string::npos) << *runner->failure();
  EXPECT_NE(runner->failure()->find("--resnapshot"), std::string::npos) << *runner->failure();
  EXPECT_EQ(runner->durable(), pg::position(pg::Lsn(0x10)));
}

TEST_F(SinkRunnerTest, ResetStartsARebuildAndAppliesTheSameBatchAgain) {
  auto owned = std::make_unique<RecordingSink>();
  sink = owned.get();
  sink->resets_left = 1;
  FakeRebuild::Shared shared;
  SinkRunner runner(std::move(owned), config, retry, stop, std::nullopt, pg::position(pg::Lsn(0x10)),
                    [&](Sink& s) {
                      s.rebuild_target()->begin_rebuild("slot", pg::position(pg::Lsn(0x500)));
                      return std::make_unique<FakeRebuild>(shared);
                    });
  push(runner, change(0x100, 1));
  push(runner, TransactionEnd{pg::position(pg::Lsn(0x120))});
  runner.start();
  ASSERT_TRUE(eventually_true([&] { return runner.durable() == pg::position(pg::Lsn(0x120)); }));
  EXPECT_EQ(shared.started.load(), 1);
  EXPECT_EQ(sink->rebuilds_begun, 1);
  // Streaming goes on while the rebuild runs.
  push(runner, change(0x200, 1));
  push(runner, TransactionEnd{pg::position(pg::Lsn(0x220))});
  ASSERT_TRUE(eventually_true([&] { return runner.durable() == pg::position(pg::Lsn(0x220)); }));
  EXPECT_EQ(shared.destroyed.load(), 0);
  // A transient failure starts it again; done, it is forgotten.
  shared.status = BackgroundTask::Status::kFailed;
  ASSERT_TRUE(eventually_true([&] { return shared.started.load() == 2; }));
  shared.status = BackgroundTask::Status::kDone;
  ASSERT_TRUE(eventually_true([&] { return shared.destroyed.load() == 2; }));
  drain(runner);
  EXPECT_FALSE(runner.failure());
  std::lock_guard lock(sink->mutex);
  ASSERT_EQ(sink->batches.size(), 2u);
  EXPECT_EQ(sink->batches[0].checkpoint, (pg::position(pg::Lsn(0x100), 1)));
}

TEST_F(SinkRunnerTest, RebuildThatCannotSucceedIsFatal) {
  FakeRebuild::Shared shared;
  shared.status = BackgroundTask::Status::kFailed;
  shared.transient = false;
  SinkRunner runner(std::make_unique<RecordingSink>(), config, retry, stop, std::nullopt, pg::position(pg::Lsn(0x10)),
                    [&](Sink&) { return std::make_unique<FakeRebuild>(shared); }, /*rebuild_first=*/true);
  runner.start();
  runner.join();
  ASSERT_TRUE(runner.failure());
  EXPECT_NE(runner.failure()->find("the rebuild failed: copy failed"), std::string::npos) << *runner.failure();
  EXPECT_TRUE(stop.requested());
}

TEST_F(SinkRunnerTest, ReportsAppliedChangesLagPositionAndRetriedErrors) {
  Telemetry telemetry;
  auto owned = std::make_unique<RecordingSink>();
  owned->transient_failures_left = 2;
  SinkRunner runner(std::move(owned), config, retry, stop, std::nullopt, pg::position(pg::Lsn(0x10)), {}, false, &telemetry);
  auto relation = std::make_shared<Relation>();
  relation->schema = "public";
  relation->name = "users";
  auto insert = std::make_shared<Change>();
  insert->relation = relation;
  insert->position = pg::position(pg::Lsn(0x100), 1);
  auto remove = std::make_shared<Change>(*insert);
  remove->op = Op::kDelete;
  remove->position = pg::position(pg::Lsn(0x100), 2);
  const auto committed = std::chrono::system_clock::now() - std::chrono::seconds(2);
  push(runner, ChangePtr(insert));
  push(runner, ChangePtr(remove));
  push(runner, TransactionEnd{pg::position(pg::Lsn(0x120)), committed});
  runner.start();
  drain(runner);
  Metrics& m = telemetry.metrics;
  EXPECT_EQ(m.changes_applied.series({"rec", "public.users", "insert"}).load(), 1);
  EXPECT_EQ(m.changes_applied.series({"rec", "public.users", "delete"}).load(), 1);
  EXPECT_EQ(m.batches_applied.series({"rec"}).load(), 1);
  EXPECT_EQ(m.sink_errors.series({"rec", "transient"}).load(), 2);
  EXPECT_EQ(m.sink_retries.series({"rec"}).load(), 2);
  EXPECT_EQ(m.last_applied_lsn.series({"rec"}).load(), 0x120);
  EXPECT_GE(m.replication_lag_seconds.series({"rec"}).load(), 2.0);
  EXPECT_LT(m.replication_lag_seconds.series({"rec"}).load(), 60.0);
  EXPECT_EQ(m.last_applied_commit_time.series({"rec"}).load(),
            std::chrono::duration<double>(committed.time_since_epoch()).count());
  EXPECT_GT(m.last_write_time.series({"rec"}).load(), 0);
  EXPECT_TRUE(telemetry.health.check().healthy);
}

}  // namespace
}  // namespace sluice
