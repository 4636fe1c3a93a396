#include "core/fan_out.h"
#include "source/postgres/pg_position.h"

#include <gtest/gtest.h>

#include "core/retry.h"

namespace sluice {
namespace {

class NullSink : public Sink {
 public:
  NullSink() = default;
  explicit NullSink(std::string only_table) : only_table_(std::move(only_table)) {}
  const std::string& name() const override { return name_; }
  bool holds_table(const std::string& table) const override { return only_table_.empty() || table == only_table_; }
  Durability durability() const override { return Durability::kCheckpointAtomic; }
  SinkCheckpoint load_checkpoint() override { return {}; }
  void apply(const Batch&) override {}

 private:
  std::string name_ = "null";
  std::string only_table_;  // empty: every table
};

ChangePtr change(uint64_t lsn, RelationPtr relation = std::make_shared<Relation>()) {
  auto c = std::make_shared<Change>();
  c->position = pg::position(pg::Lsn(lsn), 1);
  c->relation = std::move(relation);
  return c;
}

RelationPtr table(std::string name) {
  auto relation = std::make_shared<Relation>();
  relation->schema = "public";
  relation->name = std::move(name);
  return relation;
}

std::unique_ptr<SinkRunner> runner(StopSignal& stop, Position durable, size_t queue_bytes = 64 << 20,
                                   std::string only_table = {}) {
  SinkBounds bounds;
  bounds.queue_max_bytes = queue_bytes;
  bounds.batch_max_bytes = queue_bytes;
  return std::make_unique<SinkRunner>(std::make_unique<NullSink>(std::move(only_table)), bounds,
                                      RetryConfig{std::chrono::milliseconds(1), std::chrono::milliseconds(5)}, stop,
                                      std::nullopt, durable);
}

TEST(FanOutTest, DurableIsTheMinimumOfEveryRunner) {
  StopSignal stop;
  auto a = runner(stop, pg::position(pg::Lsn(0x20)));
  auto b = runner(stop, pg::position(pg::Lsn(0x10)));
  FanOut fan_out({a.get(), b.get()}, stop);
  EXPECT_EQ(fan_out.durable(), pg::position(pg::Lsn(0x10)));
}

TEST(FanOutTest, AFullQueueKeepsTheSourceAliveUntilAStop) {
  StopSignal stop;
  auto fast = runner(stop, pg::position(pg::Lsn(0)));
  auto full = runner(stop, pg::position(pg::Lsn(0)), 1);  // not started: its queue never drains
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
  auto a = runner(stop, pg::position(pg::Lsn(0)));
  a->start();
  FanOut fan_out({a.get()}, stop);
  fan_out.push(change(0x100), [] {});
  fan_out.push(TransactionEnd{pg::position(pg::Lsn(0x108))}, [] {});
  int keep_alives = 0;
  fan_out.drain([&] { ++keep_alives; });
  EXPECT_TRUE(a->done());
  EXPECT_EQ(a->changes_applied(), 1u);
}

TEST(FanOutTest, ASinkGetsOnlyTheChangesOfTablesItHoldsAndStillMovesOn) {
  StopSignal stop;
  auto every = runner(stop, pg::position(pg::Lsn(0)));
  auto only_a = runner(stop, pg::position(pg::Lsn(0)), 64 << 20, "public.a");
  every->start();
  only_a->start();
  FanOut fan_out({every.get(), only_a.get()}, stop);
  const RelationPtr a = table("a"), b = table("b");
  fan_out.push(change(0x100, a), [] {});
  fan_out.push(change(0x100, b), [] {});
  fan_out.push(TransactionEnd{pg::position(pg::Lsn(0x108))}, [] {});
  fan_out.push(change(0x200, b), [] {});  // a transaction the second sink has no part in
  fan_out.push(TransactionEnd{pg::position(pg::Lsn(0x208))}, [] {});
  fan_out.drain([] {});
  EXPECT_EQ(every->changes_applied(), 3u);
  EXPECT_EQ(only_a->changes_applied(), 1u);
  // Both may be acknowledged past the transaction that touched only table b.
  EXPECT_EQ(every->durable(), pg::position(pg::Lsn(0x208)));
  EXPECT_EQ(only_a->durable(), pg::position(pg::Lsn(0x208)));
  EXPECT_EQ(fan_out.durable(), pg::position(pg::Lsn(0x208)));
}

}  // namespace
}  // namespace sluice
