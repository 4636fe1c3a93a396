// The runner's batching and acknowledgement logic, with a recording sink (the
// Redis sink itself is tested against a real Redis in tests/integration).
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/sink_runner.h"

namespace sluice {
namespace {

class RecordingSink : public Sink {
 public:
  std::mutex mutex;
  std::vector<Batch> batches;
  int transient_failures_left = 0;
  std::string name_ = "rec";

  const std::string& name() const override { return name_; }
  SinkCheckpoint load_checkpoint() override { return {}; }
  void apply(const Batch& batch) override {
    std::lock_guard lock(mutex);
    if (transient_failures_left > 0) {
      --transient_failures_left;
      throw Error::transient("store down");
    }
    batches.push_back(batch);
  }
  void begin_snapshot(const std::string&, const std::vector<std::string>&) override {}
  void finish_snapshot(const std::string&, Lsn) override {}
  void start_without_snapshot(const std::string&, Lsn) override {}
};

ChangePtr change(uint64_t lsn, uint32_t index) {
  auto c = std::make_shared<Change>();
  c->op = Op::kInsert;
  c->position = Position{Lsn(lsn), index};
  return c;
}

class SinkRunnerTest : public ::testing::Test {
 protected:
  SinkConfig config;
  RetryConfig retry{std::chrono::milliseconds(1), std::chrono::milliseconds(5)};
  StopSignal stop;
  RecordingSink* sink = nullptr;

  std::unique_ptr<SinkRunner> make(std::optional<Position> applied = std::nullopt) {
    config.name = "rec";
    auto owned = std::make_unique<RecordingSink>();
    sink = owned.get();
    return std::make_unique<SinkRunner>(std::move(owned), config, retry, stop, applied, Lsn(0x10));
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
  push(*runner, TransactionEnd{Lsn(0x120)});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 1u);
  EXPECT_EQ(sink->batches[0].changes.size(), 2u);
  EXPECT_EQ(sink->batches[0].checkpoint, (Position{Lsn(0x100), 2}));
  EXPECT_EQ(runner->durable_lsn(), Lsn(0x120));
}

TEST_F(SinkRunnerTest, ChangesAtOrBeforeTheCheckpointAreDropped) {
  auto runner = make(Position{Lsn(0x100), 2});
  push(*runner, change(0x100, 1));
  push(*runner, change(0x100, 2));
  push(*runner, change(0x100, 3));
  push(*runner, TransactionEnd{Lsn(0x120)});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 1u);
  ASSERT_EQ(sink->batches[0].changes.size(), 1u);
  EXPECT_EQ(sink->batches[0].changes[0]->position.index, 3u);
}

TEST_F(SinkRunnerTest, LargeTransactionIsSplitAtTheBatchBound) {
  config.batch_max_changes = 2;
  auto runner = make();
  for (uint32_t i = 1; i <= 5; ++i) push(*runner, change(0x100, i));
  push(*runner, TransactionEnd{Lsn(0x120)});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 3u);
  EXPECT_EQ(sink->batches[0].checkpoint, (Position{Lsn(0x100), 2}));
  EXPECT_EQ(sink->batches[2].checkpoint, (Position{Lsn(0x100), 5}));
}

TEST_F(SinkRunnerTest, IdleSourceAdvancesDurableWithoutWriting) {
  auto runner = make();
  push(*runner, SourceIdle{Lsn(0x900)});
  runner->start();
  drain(*runner);
  EXPECT_TRUE(sink->batches.empty());
  EXPECT_EQ(runner->durable_lsn(), Lsn(0x900));
}

TEST_F(SinkRunnerTest, DurableDoesNotPassAnUnfinishedTransaction) {
  auto runner = make();
  push(*runner, change(0x100, 1));
  push(*runner, TransactionEnd{Lsn(0x120)});
  push(*runner, change(0x200, 1));  // its commit has not been taken yet
  runner->start();
  drain(*runner);
  EXPECT_EQ(runner->durable_lsn(), Lsn(0x120));
}

TEST_F(SinkRunnerTest, TransientErrorsAreRetriedUntilApplied) {
  auto runner = make();
  sink->transient_failures_left = 3;
  push(*runner, change(0x100, 1));
  push(*runner, TransactionEnd{Lsn(0x120)});
  runner->start();
  drain(*runner);
  ASSERT_EQ(sink->batches.size(), 1u);
  EXPECT_FALSE(runner->failure());
}

TEST_F(SinkRunnerTest, FatalErrorIsStickyAndStopsTheProcess) {
  class FailingSink : public RecordingSink {
    void apply(const Batch&) override { throw Error::invalid_input("WRONGTYPE"); }
  };
  config.name = "bad";
  SinkRunner runner(std::make_unique<FailingSink>(), config, retry, stop, std::nullopt, Lsn(0));
  push(runner, change(0x100, 1));
  push(runner, TransactionEnd{Lsn(0x120)});
  runner.start();
  runner.join();
  ASSERT_TRUE(runner.failure());
  EXPECT_NE(runner.failure()->find("WRONGTYPE"), std::string::npos);
  EXPECT_TRUE(stop.requested());
  EXPECT_EQ(runner.durable_lsn(), Lsn(0));
}

}  // namespace
}  // namespace sluice
