#include "core/fan_out.h"

#include <gtest/gtest.h>

#include "core/retry.h"

namespace sluice {
namespace {

class NullSink : public Sink {
 public:
  const std::string& name() const override { return name_; }
  Durability durability() const override { return Durability::kCheckpointAtomic; }
  SinkCheckpoint load_checkpoint() override { return {}; }
  void apply(const Batch&) override {}

 private:
  std::string name_ = "null";
};

ChangePtr change(uint64_t lsn) {
  auto c = std::make_shared<Change>();
  c->position = Position{Lsn(lsn), 1};
  c->relation = std::make_shared<Relation>();
  return c;
}

std::unique_ptr<SinkRunner> runner(StopSignal& stop, Lsn durable, size_t queue_bytes = 64 << 20) {
  SinkBounds bounds;
  bounds.queue_max_bytes = queue_bytes;
  bounds.batch_max_bytes = queue_bytes;
  return std::make_unique<SinkRunner>(std::make_unique<NullSink>(), bounds,
                                      RetryConfig{std::chrono::milliseconds(1), std::chrono::milliseconds(5)}, stop,
                                      std::nullopt, durable);
}

TEST(FanOutTest, DurableIsTheMinimumOfEveryRunner) {
  StopSignal stop;
  auto a = runner(stop, Lsn(0x20));
  auto b = runner(stop, Lsn(0x10));
  FanOut fan_out({a.get(), b.get()}, stop);
  EXPECT_EQ(fan_out.durable(), Lsn(0x10));
}

TEST(FanOutTest, AFullQueueKeepsTheSourceAliveUntilAStop) {
  StopSignal stop;
  auto fast = runner(stop, Lsn(0));
  auto full = runner(stop, Lsn(0), 1);  // not started: its queue never drains
  FanOut fan_out({fast.get(), full.get()}, stop);
  int keep_alives = 0;
  auto keep_alive = [&] {
    if (++keep_alives == 3) stop.request();
  };
  EXPECT_THROW(
      {
        for (int i = 0; i < 100; ++i) fan_out.push(change(0x100 + i), keep_alive);
      },
      StopRequested);
  EXPECT_GE(keep_alives, 3);
}

TEST(FanOutTest, DrainAppliesWhatIsQueuedAndJoins) {
  StopSignal stop;
  auto a = runner(stop, Lsn(0));
  a->start();
  FanOut fan_out({a.get()}, stop);
  fan_out.push(change(0x100), [] {});
  fan_out.push(TransactionEnd{Lsn(0x108)}, [] {});
  int keep_alives = 0;
  fan_out.drain([&] { ++keep_alives; });
  EXPECT_TRUE(a->done());
  EXPECT_EQ(a->changes_applied(), 1u);
}

}  // namespace
}  // namespace sluice
